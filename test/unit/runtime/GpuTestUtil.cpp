//===- GpuTestUtil.cpp - helpers of the GPU backend tests -----------------===//

#include "GpuTestUtil.h"

#include "runtime/src/Error.h"

#include <cstdio>
#include <sys/wait.h>

namespace braid::rt::test {

namespace {
void putLE(std::string &out, uint64_t v, int width) {
  for (int i = 0; i < width; ++i)
    out.push_back(char((v >> (8 * i)) & 0xFF));
}
} // namespace

std::string
gpuArchive(const std::vector<std::pair<std::string, std::string>> &modules,
           uint32_t magic, uint32_t version) {
  std::string out;
  putLE(out, magic, 4);
  putLE(out, version, 4);
  putLE(out, modules.size(), 4);
  for (const auto &[name, payload] : modules) {
    putLE(out, name.size(), 4);
    out += name;
    putLE(out, payload.size(), 8);
    out += payload;
  }
  return out;
}

nlohmann::json dimExpr(int64_t constant, int64_t perBatch, int64_t perToken,
                       int64_t perBatchToken, int64_t divisor) {
  return {{"constant", constant},
          {"per_batch", perBatch},
          {"per_token", perToken},
          {"per_batch_token", perBatchToken},
          {"divisor", divisor}};
}

nlohmann::json withGreedyEntry(nlohmann::json m, const std::string &vendor,
                               nlohmann::json code) {
  nlohmann::json entry = m["entries"][1];
  entry["name"] = "decode_greedy";
  auto input = [](const char *name) {
    return nlohmann::json{{"kind", "input"}, {"name", name}};
  };
  entry["launches"].push_back(
      {{"kernel", "greedy_next"},
       {"operands", {{{"kind", "output"}, {"name", "logits"}}}},
       {"results",
        {input("input_ids"), input("positions"), input("cache_position")}},
       {vendor, std::move(code)}});
  m["entries"].push_back(entry);
  return m;
}

Result braidRun(const std::string &env, const std::string &args) {
  std::string cmd =
      "env " + env + " " + std::string(BRAID_RUN_PATH) + " " + args + " 2>&1";
  Result r;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int w = pclose(p);
  r.status = WIFEXITED(w) ? WEXITSTATUS(w) : -1;
  return r;
}

int count(const std::string &text, const std::string &what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

std::string errorOf(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

} // namespace braid::rt::test
