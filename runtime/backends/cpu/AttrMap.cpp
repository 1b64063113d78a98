//===- AttrMap.cpp - typed attribute lookups of a launch ------------------===//
//
// Lookups never throw: a missing or mistyped attribute records the first
// error and yields the fallback, and the kernel reports the error (Check::
// attrsOk) instead of computing with it. The lookups accept what a JSON
// manifest naturally produces for a type: an integer where a float is
// expected ("factor": 2), "inf"/"-inf" strings for infinite floats, 0/1 for
// booleans, and an empty array of either element type.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/CpuKernels.h"

#include <cctype>
#include <cmath>

namespace braid::rt {

namespace {

const char *typeName(const AttrValue &value) {
  switch (value.index()) {
  case 0:
    return "an integer";
  case 1:
    return "a float";
  case 2:
    return "a boolean";
  case 3:
    return "a string";
  case 4:
    return "an integer array";
  default:
    return "a float array";
  }
}

/// "inf", "+inf", "-inf", "infinity" (any case) as a double.
bool parseInfinity(const std::string &text, double &out) {
  std::string lower;
  for (char c : text)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool negative = !lower.empty() && lower[0] == '-';
  if (!lower.empty() && (lower[0] == '-' || lower[0] == '+'))
    lower.erase(0, 1);
  if (lower != "inf" && lower != "infinity")
    return false;
  out = negative ? -INFINITY : INFINITY;
  return true;
}

} // namespace

const AttrValue *AttrMap::lookup(std::string_view name,
                                 const char *want) const {
  auto it = values.find(std::string(name));
  if (it != values.end())
    return &it->second;
  if (error.empty())
    error = "attribute '" + std::string(name) + "' is missing (expected " +
            want + ")";
  return nullptr;
}

/// Records "attribute 'x' is a string, expected an integer".
static void mistyped(std::string &error, std::string_view name,
                     const AttrValue &value, const char *want) {
  if (error.empty())
    error = "attribute '" + std::string(name) + "' is " + typeName(value) +
            ", expected " + want;
}

int64_t AttrMap::getInt(std::string_view name, int64_t fallback) const {
  const AttrValue *value = lookup(name, "an integer");
  if (!value)
    return fallback;
  if (auto *i = std::get_if<int64_t>(value))
    return *i;
  mistyped(error, name, *value, "an integer");
  return fallback;
}

double AttrMap::getFloat(std::string_view name, double fallback) const {
  const AttrValue *value = lookup(name, "a float");
  if (!value)
    return fallback;
  if (auto *d = std::get_if<double>(value))
    return *d;
  if (auto *i = std::get_if<int64_t>(value))
    return static_cast<double>(*i);
  double parsed;
  if (auto *s = std::get_if<std::string>(value); s && parseInfinity(*s, parsed))
    return parsed;
  mistyped(error, name, *value, "a float");
  return fallback;
}

bool AttrMap::getBool(std::string_view name, bool fallback) const {
  const AttrValue *value = lookup(name, "a boolean");
  if (!value)
    return fallback;
  if (auto *b = std::get_if<bool>(value))
    return *b;
  if (auto *i = std::get_if<int64_t>(value); i && (*i == 0 || *i == 1))
    return *i == 1;
  mistyped(error, name, *value, "a boolean");
  return fallback;
}

std::string AttrMap::getString(std::string_view name,
                               std::string fallback) const {
  const AttrValue *value = lookup(name, "a string");
  if (!value)
    return fallback;
  if (auto *s = std::get_if<std::string>(value))
    return *s;
  mistyped(error, name, *value, "a string");
  return fallback;
}

std::vector<int64_t> AttrMap::getInts(std::string_view name) const {
  const AttrValue *value = lookup(name, "an integer array");
  if (!value)
    return {};
  if (auto *v = std::get_if<std::vector<int64_t>>(value))
    return *v;
  if (auto *v = std::get_if<std::vector<double>>(value); v && v->empty())
    return {};
  mistyped(error, name, *value, "an integer array");
  return {};
}

std::vector<double> AttrMap::getFloats(std::string_view name) const {
  const AttrValue *value = lookup(name, "a float array");
  if (!value)
    return {};
  if (auto *v = std::get_if<std::vector<double>>(value))
    return *v;
  if (auto *v = std::get_if<std::vector<int64_t>>(value))
    return std::vector<double>(v->begin(), v->end());
  mistyped(error, name, *value, "a float array");
  return {};
}

double AttrMap::getFloatOr(std::string_view name, double fallback) const {
  return has(name) ? getFloat(name, fallback) : fallback;
}

int64_t AttrMap::getIntOr(std::string_view name, int64_t fallback) const {
  return has(name) ? getInt(name, fallback) : fallback;
}

} // namespace braid::rt
