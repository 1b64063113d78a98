//===- CodeArchive.cpp - the code section archive of GPU bundles ----------===//
#include "targets/common/CodeArchive.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace llvm;

namespace braid::gpu {

static void putU32(std::string &out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out.push_back(char((value >> (8 * i)) & 0xff));
}

static void putU64(std::string &out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out.push_back(char((value >> (8 * i)) & 0xff));
}

Expected<std::string> writeCodeArchive(ArrayRef<CodeArchiveMember> members) {
  StringSet<> names;
  size_t total = 12;
  for (const CodeArchiveMember &member : members) {
    if (member.name.empty())
      return createStringError("code archive: a module has an empty name");
    if (!names.insert(member.name).second)
      return createStringError("code archive: module '" + member.name +
                               "' appears twice");
    total += 4 + member.name.size() + 8 + member.payload.size();
  }
  std::string out;
  out.reserve(total);
  putU32(out, kCodeArchiveMagic);
  putU32(out, kCodeArchiveVersion);
  putU32(out, uint32_t(members.size()));
  for (const CodeArchiveMember &member : members) {
    putU32(out, uint32_t(member.name.size()));
    out += member.name;
    putU64(out, member.payload.size());
    out += member.payload;
  }
  return out;
}

Expected<std::vector<CodeArchiveMember>> readCodeArchive(StringRef bytes) {
  size_t pos = 0;
  auto fail = [&](const Twine &what) {
    return createStringError(
        formatv("code archive: {0} at byte {1}", what.str(), pos).str());
  };
  auto getU = [&](unsigned width, uint64_t &value) {
    if (bytes.size() - pos < width)
      return false;
    value = 0;
    for (unsigned i = 0; i < width; ++i)
      value |= uint64_t(uint8_t(bytes[pos + i])) << (8 * i);
    pos += width;
    return true;
  };
  uint64_t magic, version, count;
  if (!getU(4, magic) || magic != kCodeArchiveMagic)
    return fail("missing the magic 'BKAR'");
  if (!getU(4, version) || version != kCodeArchiveVersion)
    return fail(formatv("unsupported version {0} (expected {1})", version,
                        kCodeArchiveVersion));
  if (!getU(4, count))
    return fail("truncated header");
  std::vector<CodeArchiveMember> members;
  StringSet<> names;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t nameLength, size;
    if (!getU(4, nameLength) || bytes.size() - pos < nameLength)
      return fail(formatv("module {0}: truncated name", i));
    CodeArchiveMember member;
    member.name = bytes.substr(pos, nameLength).str();
    pos += nameLength;
    if (member.name.empty() || !names.insert(member.name).second)
      return fail(formatv("module {0}: empty or duplicate name '{1}'", i,
                          member.name));
    if (!getU(8, size) || bytes.size() - pos < size)
      return fail(formatv("module {0} ('{1}'): truncated payload", i,
                          member.name));
    member.payload = bytes.substr(pos, size).str();
    pos += size;
    members.push_back(std::move(member));
  }
  if (pos != bytes.size())
    return fail(formatv("{0} trailing bytes", bytes.size() - pos));
  return members;
}

} // namespace braid::gpu
