//===- CudaPlan.cpp - NVIDIA architectures and code sections --------------===//

#include "runtime/backends/cuda/CudaPlan.h"

namespace braid::rt::gpu {

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

std::optional<ArchName> parseArchName(std::string_view arch) {
  ArchName a;
  if (arch.rfind("sm_", 0) == 0)
    arch.remove_prefix(3);
  else if (arch.rfind("compute_", 0) == 0) {
    arch.remove_prefix(8);
    a.ptx = true;
  } else
    return std::nullopt;
  size_t digits = 0;
  while (digits < arch.size() && arch[digits] >= '0' && arch[digits] <= '9')
    ++digits;
  if (digits < 2 || digits > 3)
    return std::nullopt;
  for (size_t i = 0; i < digits; ++i)
    a.number = a.number * 10 + (arch[i] - '0');
  std::string_view rest = arch.substr(digits);
  if (rest == "a" || rest == "f")
    a.suffix = rest[0];
  else if (!rest.empty())
    return std::nullopt;
  return a;
}

std::string deviceArch(int major, int minor) {
  return "sm_" + std::to_string(major * 10 + minor);
}

std::optional<ArchChoice> chooseArch(int major, int minor,
                                     const std::vector<std::string> &sections) {
  const int device = major * 10 + minor;
  struct Candidate {
    std::string arch;
    ArchName name;
  };
  std::vector<Candidate> candidates;
  for (const std::string &s : sections) {
    if (s.rfind("code.", 0) != 0)
      continue;
    std::string arch = s.substr(5);
    if (std::optional<ArchName> n = parseArchName(arch))
      candidates.push_back({arch, *n});
  }
  auto pick = [&](auto accept,
                  const char *reason) -> std::optional<ArchChoice> {
    const Candidate *best = nullptr;
    for (const Candidate &c : candidates)
      if (accept(c.name) && (!best || c.name.number > best->name.number))
        best = &c;
    if (!best)
      return std::nullopt;
    return ArchChoice{best->arch, "code." + best->arch, best->name.ptx, reason};
  };
  // sm_XYa (or sm_XYf) for exactly this device: all its features.
  if (auto c = pick(
          [&](const ArchName &n) {
            return !n.ptx && n.number == device && n.suffix;
          },
          "cubin for exactly this device"))
    return c;
  if (auto c = pick(
          [&](const ArchName &n) {
            return !n.ptx && n.number == device && !n.suffix;
          },
          "cubin for exactly this device"))
    return c;
  if (auto c = pick(
          [&](const ArchName &n) {
            return !n.ptx && !n.suffix && n.number / 10 == major &&
                   n.number < device;
          },
          "cubin of an earlier minor version (binary compatible)"))
    return c;
  if (auto c = pick(
          [&](const ArchName &n) {
            return n.ptx &&
                   (n.suffix ? n.number == device : n.number <= device);
          },
          "PTX, compiled by the driver"))
    return c;
  return std::nullopt;
}

} // namespace braid::rt::gpu
