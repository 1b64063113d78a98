//===- HipPlan.cpp - AMD architectures and code sections ------------------===//

#include "runtime/backends/hip/HipPlan.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace braid::rt::gpu {

std::optional<std::string> normalizeGcnArch(std::string_view id) {
  std::string_view processor = id.substr(0, id.find(':'));
  if (processor.rfind("gfx", 0) != 0)
    return std::nullopt;
  std::string_view digits = processor.substr(3);
  if (digits.size() < 3 || digits.size() > 4 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return std::isxdigit((unsigned char)c); }))
    return std::nullopt;
  return std::string(processor);
}

std::optional<std::string> findGcnArchName(const void *properties,
                                           size_t bytes) {
  const char *p = static_cast<const char *>(properties);
  for (size_t i = 0; i + 3 < bytes; ++i) {
    if ((i > 0 && p[i - 1] != '\0') || std::memcmp(p + i, "gfx", 3) != 0)
      continue;
    size_t n = strnlen(p + i, std::min<size_t>(256, bytes - i));
    if (std::optional<std::string> arch =
            normalizeGcnArch(std::string_view(p + i, n)))
      return arch;
  }
  return std::nullopt;
}

std::vector<std::string> amdArchs(const std::vector<std::string> &sections) {
  std::vector<std::string> archs;
  for (const std::string &s : sections)
    if (s.rfind("code.", 0) == 0)
      if (std::optional<std::string> a = normalizeGcnArch(s.substr(5));
          a && *a == s.substr(5))
        archs.push_back(*a);
  return archs;
}

std::optional<ArchChoice>
chooseHipArch(const std::string &arch,
              const std::vector<std::string> &sections) {
  for (const std::string &a : amdArchs(sections))
    if (a == arch)
      return ArchChoice{a, "code." + a, false,
                        "code object for exactly this device"};
  return std::nullopt;
}

} // namespace braid::rt::gpu
