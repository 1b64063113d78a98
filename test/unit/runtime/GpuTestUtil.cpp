//===- GpuTestUtil.cpp - helpers of the GPU backend tests -----------------===//

#include "GpuTestUtil.h"
#include "TestUtil.h"

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

using json = nlohmann::json;

json cudaCode(const std::string &function, int64_t shared, json workspace) {
  return {{"module", "kfake"},
          {"workspace", std::move(workspace)},
          {"kernels",
           {{{"function", function},
             {"grid", {dimExpr(0, 0, 0, 1, 1), dimExpr(1), dimExpr(1)}},
             {"block", {32, 1, 1}},
             {"shared_bytes", shared}}}}};
}

json gpuManifest(bool withState,
                 const std::function<void(json &launch)> &edit) {
  json m = tinyManifest(withState);
  m["targets"] = {"cuda", "sm_90a"};
  for (json &entry : m["entries"])
    for (json &launch : entry["launches"]) {
      std::string kernel = launch["kernel"];
      launch["cuda"] =
          cudaCode("fake_" + kernel, 0,
                   kernel == "accumulate" ? dimExpr(0, 0, 0, 64) : dimExpr(0));
      if (edit)
        edit(launch);
    }
  return m;
}

json withRowVariants(json m) {
  for (json &launch : m["entries"][1]["launches"])
    if (launch["kernel"] == "linear") {
      json &kernels = launch["cuda"]["kernels"];
      kernels.push_back(kernels[0]);
      kernels[0]["function"] = "fake_linear_few";
      kernels[0]["rows"] = {1, 1};
      kernels[1]["function"] = "fake_linear_many";
      kernels[1]["rows"] = {2, INT64_MAX};
    }
  return m;
}

} // namespace braid::rt::test
