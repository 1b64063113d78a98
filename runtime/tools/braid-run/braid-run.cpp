//===- braid-run.cpp - run, generate with and check Braid bundles ---------===//
//
// The command-line face of the runtime: inspect a bundle, run prefill on
// given ids, generate (greedy or sampled), compare against a golden file.
// Sessions go through the C API's C++ wrapper (braid.hpp), files through the
// runtime's safetensors reader.
//
//===----------------------------------------------------------------------===//

#include "braid/braid.hpp"

#include "runtime/src/Bundle.h"
#include "runtime/src/Error.h"
#include "runtime/src/GpuPlan.h"
#include "runtime/src/Safetensors.h"
#include "runtime/src/Sampling.h"
#ifdef BRAID_HAVE_CUDA_BACKEND
#include "runtime/backends/cuda/CudaPlan.h"
#endif
#ifdef BRAID_HAVE_HIP_BACKEND
#include "runtime/backends/hip/HipPlan.h"
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

const char *kHelp =
    R"(braid-run: run Braid bundles (written by braidc) on the Braid runtime.

Usage:
  braid-run info BUNDLE [-v]
  braid-run run BUNDLE (--weights W | --random-weights SEED)
                (--ids IDS | --ids-file F) [--save-logits OUT.safetensors]
                [--repeat N]
  braid-run generate BUNDLE (--weights W | --random-weights SEED)
                (--ids IDS | --ids-file F) -n N [--compare-alone]
                [--temperature T [--top-k K] [--top-p P] [--seed S]]
  braid-run check BUNDLE [--weights W] --golden GOLDEN.safetensors
                [--tolerance 1e-4] [--margin M] [--golden-tokens generated]
                [--save-logits OUT.safetensors]

Commands:
  info       what the bundle holds: model, targets, sections and checksums,
             entries, kernel families (and whether this runtime's CPU backend
             implements each), weights, states, arena size. -v lists every
             weight with its shape and binding transform.
  run        prefill on the ids; prints the logits' shape, the argmax at each
             position and the first values; --save-logits writes them
             (tensors "logits" [B, T, V] and "input_ids" [B, T]).
             --repeat N runs the prefill N times in the same session and
             prints each time, then the fastest and the median: the first
             run also pays one-time costs (loading kernels, first-touch
             allocations), so time a prefill with N >= 3.
  generate   prefill the ids, then N - 1 decode steps; prints the tokens,
             prefill time, ms per decode step, tokens/s. Greedy by default:
             the steps run back to back on the device through the bundle's
             decode_greedy entry (its kernel picks each token);
             BRAID_HOST_SAMPLING=1 takes the argmax on the host instead.
             --temperature T > 0 samples instead (see Sampling below).
             Rows may have different lengths: each prompt starts in its own
             batch slot (one prefill per run of rows of one length) and all
             rows decode together, each at its own position.
             --compare-alone then runs every row again alone (batch 1, fed
             the batch's tokens) and compares each step's logits with the
             batch's (rel-L2 per row over the prompt's last position and
             every decode step, must be <= --tolerance); exit status 1 when
             any row differs.
  check      prefill on the golden's input_ids and compare the logits (rel-L2
             per batch row, ||braid - golden|| / ||golden||, must be <= the
             tolerance), then generate as many tokens as the golden's
             `generated` holds beyond the prompt and compare them exactly.
             --golden-tokens NAME compares with another tensor of the golden
             (e.g. `generated_nocache` where a model's cached generation in
             transformers disagrees with its own uncached one).
             --margin M applies the margin rule of the numerics contract: a
             row whose greedy tokens first differ at a step where the top-2
             margin of the logits, relative to their L2 norm, is below M
             passes (tokens after that point are not compared). The margin
             is the golden's own at the first new token, Braid's later (the
             golden has no logits there). --save-logits OUT writes the
             prefill logits, the new tokens, the prompt with them
             (generated) and every decode step's logits (decode_logits
             [N - 1, B, V]): a golden for check of another bundle; a golden that holds
             decode_logits (another bundle's --save-logits) has every
             decode step's logits compared too (rel-L2 per row).
             Exit status 1 when anything differs.

Sampling (generate), as transformers' generate(do_sample=True):
  --temperature T        divide the logits by T before the softmax: below 1
                         sharpens, above 1 flattens. 0 (the default) is
                         greedy, the argmax, and ignores the three below
  --top-k K              draw only from the K most likely tokens (and any
                         tied with the K-th); 0 (the default): all
  --top-p P              then only from the smallest set of the most likely
                         tokens whose probability reaches P, in (0, 1]; 1
                         (the default): all
  --seed S               sequence b draws from its own random stream made
                         from (S, b): the same seed gives the same tokens on
                         every run (default 0)
  Top-k applies before top-p. Sampling runs on the host: each step's logits
  are copied back, also where the bundle has decode_greedy.

Weights (run, generate, check):
  --weights W            a safetensors checkpoint file, or a folder (its
                         model.safetensors.index.json, model.safetensors, or
                         every *.safetensors file)
  --random-weights SEED  draw every weight from the seed instead (same seed,
                         same weights); for benchmarks without a checkpoint
  (neither)              the weights packed in the bundle, if it has them

Ids:
  --ids "1,2,3;4,5,6"    one row per sequence, ';' between rows, ',' or
                         spaces between ids; every row the same length,
                         except for generate ("1,2,3;4,5" is two prompts)
  --ids-file F           the same text in a file (one row per line allowed),
                         or a .safetensors file with an "input_ids" tensor

Common options:
  --backend cpu|cuda|hip where to run (cuda: an NVIDIA GPU through the driver,
                         bundles compiled with braidc --target=cuda; hip: an
                         AMD GPU through libamdhip64, --target=hip)
  --cuda-graph, --graph  cuda, hip: capture decode as a graph and replay it
  --threads N            CPU threads (default: all hardware threads)
  --max-batch N          session's maximum batch (default: the input's batch)
  --max-seq N            session's maximum tokens per sequence (default: what
                         the command needs)
  -h, --help             this text

Examples:
  braid-run info bamba.bundle
  braid-run run bamba.bundle --weights goldens/bamba_tiny --ids "1,5,9,3"
  braid-run run bamba.bundle --random-weights 7 --ids-file prompt.txt \
      --save-logits logits.safetensors
  braid-run generate bamba.bundle --random-weights 7 --ids "1,2,3,4" -n 32
  braid-run generate bamba.bundle --random-weights 7 --ids "1,2,3,4" -n 32 \
      --temperature 0.8 --top-p 0.95 --seed 1
  braid-run check bamba.bundle --weights goldens/bamba_tiny/model.safetensors \
      --golden goldens/bamba_tiny/golden.safetensors

Exit status: 0 success, 1 failure (a runtime error, or check found a
difference), 2 bad command line.
)";

/// A bad command line: message + exit status 2.
struct UsageError {
  std::string message;
};

[[noreturn]] void usage(const std::string &message) {
  throw UsageError{message};
}

struct Args {
  std::string command;
  std::string bundle;
  std::optional<std::string> weights;
  std::optional<uint64_t> seed;
  std::optional<std::string> ids, idsFile, saveLogits, golden;
  std::string goldenTokens = "generated";
  std::optional<int64_t> newTokens;
  double tolerance = 1e-4;
  std::optional<double> margin;
  bool cudaGraph = false;
  bool compareAlone = false;
  braid::Sampling sampling;
  bool samplingFlags = false; ///< any of --temperature, --top-k, ...
  std::string backend = "cpu";
  uint32_t threads = 0;
  std::optional<int64_t> maxBatch, maxSeq;
  int64_t repeat = 1;
  bool verbose = false;
};

int64_t parseInt(const std::string &flag, const std::string &text,
                 int64_t min) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end || errno)
    usage(flag + ": '" + text + "' is not an integer");
  if (v < min)
    usage(flag + ": must be at least " + std::to_string(min) + ", got " + text);
  return v;
}

Args parseArgs(int argc, char **argv) {
  Args a;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help")
      positional.insert(positional.begin(), "help");
    else if (arg == "-v" || arg == "--verbose")
      a.verbose = true;
    else if (arg == "--weights")
      a.weights = value();
    else if (arg == "--random-weights") {
      std::string v = value();
      char *end = nullptr;
      unsigned long long s = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || v[0] == '-')
        usage("--random-weights: '" + v + "' is not a non-negative integer");
      a.seed = s;
    } else if (arg == "--ids")
      a.ids = value();
    else if (arg == "--ids-file")
      a.idsFile = value();
    else if (arg == "--save-logits")
      a.saveLogits = value();
    else if (arg == "--golden")
      a.golden = value();
    else if (arg == "--golden-tokens")
      a.goldenTokens = value();
    else if (arg == "-n" || arg == "--new-tokens")
      a.newTokens = parseInt(arg, value(), 1);
    else if (arg == "--tolerance") {
      std::string v = value();
      char *end = nullptr;
      a.tolerance = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(a.tolerance >= 0))
        usage("--tolerance: '" + v + "' is not a non-negative number");
    } else if (arg == "--margin") {
      std::string v = value();
      char *end = nullptr;
      double m = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(m >= 0))
        usage("--margin: '" + v + "' is not a non-negative number");
      a.margin = m;
    } else if (arg == "--temperature") {
      std::string v = value();
      char *end = nullptr;
      double t = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(t >= 0) || std::isinf(t))
        usage("--temperature: '" + v +
              "' is not a finite non-negative number (0: greedy)");
      a.sampling.temperature = t;
      a.samplingFlags = true;
    } else if (arg == "--top-k") {
      a.sampling.topK = parseInt(arg, value(), 0);
      a.samplingFlags = true;
    } else if (arg == "--top-p") {
      std::string v = value();
      char *end = nullptr;
      double p = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(p > 0 && p <= 1))
        usage("--top-p: '" + v + "' is not a number in (0, 1] (1: off)");
      a.sampling.topP = p;
      a.samplingFlags = true;
    } else if (arg == "--seed") {
      std::string v = value();
      char *end = nullptr;
      errno = 0;
      unsigned long long seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || v[0] == '-' || errno)
        usage("--seed: '" + v + "' is not a non-negative integer");
      a.sampling.seed = seed;
      a.samplingFlags = true;
    } else if (arg == "--cuda-graph" || arg == "--graph")
      a.cudaGraph = true;
    else if (arg == "--compare-alone")
      a.compareAlone = true;
    else if (arg == "--backend")
      a.backend = value();
    else if (arg == "--threads")
      a.threads = uint32_t(parseInt(arg, value(), 0));
    else if (arg == "--max-batch")
      a.maxBatch = parseInt(arg, value(), 1);
    else if (arg == "--max-seq")
      a.maxSeq = parseInt(arg, value(), 1);
    else if (arg == "--repeat")
      a.repeat = parseInt(arg, value(), 1);
    else if (arg.size() > 1 && arg[0] == '-')
      usage("unknown option '" + arg + "'");
    else
      positional.push_back(arg);
  }
  if (positional.empty())
    usage("no command given");
  a.command = positional[0];
  if (a.command == "help")
    return a;
  if (a.command != "info" && a.command != "run" && a.command != "generate" &&
      a.command != "check")
    usage("unknown command '" + a.command +
          "' (expected info, run, generate or check)");
  if (positional.size() < 2)
    usage(a.command + " needs a BUNDLE");
  if (positional.size() > 2)
    usage("unexpected argument '" + positional[2] + "'");
  a.bundle = positional[1];
  if (a.weights && a.seed)
    usage("give --weights or --random-weights, not both");
  if (a.command == "run" || a.command == "generate") {
    if (!a.ids && !a.idsFile)
      usage(a.command + " needs --ids or --ids-file");
    if (a.ids && a.idsFile)
      usage("give --ids or --ids-file, not both");
  }
  if (a.command == "generate" && !a.newTokens)
    usage("generate needs -n N (how many tokens to generate)");
  if (a.compareAlone && a.command != "generate")
    usage("--compare-alone is an option of generate");
  if (a.samplingFlags && a.command != "generate")
    usage("--temperature, --top-k, --top-p and --seed are options of generate");
  if (a.command == "check") {
    if (!a.golden)
      usage("check needs --golden GOLDEN.safetensors");
    // Without --weights the bundle's packed weights are used (ONNX
    // imports carry them); a bundle without any fails at session start.
    if (a.seed)
      usage("check compares with a golden: give --weights W (the checkpoint "
            "the golden came from) or none for the bundle's packed weights");
  }
  return a;
}

//===----------------------------------------------------------------------===//
// Ids
//===----------------------------------------------------------------------===//

struct Ids {
  int64_t batch = 0, tokens = 0; ///< tokens: row 0's length
  std::vector<int64_t> values;   ///< the rows one after another
  std::vector<int64_t> lengths;  ///< of each row
  bool ragged() const {
    return std::any_of(lengths.begin(), lengths.end(),
                       [&](int64_t n) { return n != tokens; });
  }
};

/// Commands other than generate take one length for every row.
void requireRectangular(const Ids &ids, const std::string &what) {
  if (!ids.ragged())
    return;
  for (size_t r = 0; r < ids.lengths.size(); ++r)
    if (ids.lengths[r] != ids.tokens)
      usage(what + ": row " + std::to_string(r) + " has " +
            std::to_string(ids.lengths[r]) + " ids, row 0 has " +
            std::to_string(ids.tokens) +
            " (every sequence of a batch has the same length; generate "
            "takes rows of different lengths)");
}

Ids parseIdsText(const std::string &text, const std::string &what) {
  std::vector<std::vector<int64_t>> rows;
  std::string row;
  std::istringstream lines(text);
  std::vector<std::string> rowTexts;
  for (std::string line; std::getline(lines, line);) {
    size_t hash = line.find('#');
    if (hash != std::string::npos)
      line.resize(hash);
    std::string part;
    std::istringstream parts(line);
    while (std::getline(parts, part, ';'))
      if (part.find_first_not_of(" \t\r,") != std::string::npos)
        rowTexts.push_back(part);
  }
  for (const std::string &r : rowTexts) {
    std::vector<int64_t> ids;
    std::string token;
    for (size_t i = 0; i <= r.size(); ++i) {
      char c = i < r.size() ? r[i] : ',';
      if (c == ',' || c == ' ' || c == '\t' || c == '\r') {
        if (!token.empty()) {
          char *end = nullptr;
          long long v = std::strtoll(token.c_str(), &end, 10);
          if (*end)
            usage(what + ": '" + token + "' is not an integer id");
          ids.push_back(v);
          token.clear();
        }
      } else {
        token += c;
      }
    }
    rows.push_back(std::move(ids));
  }
  if (rows.empty())
    usage(what + ": no ids");
  Ids out;
  out.batch = int64_t(rows.size());
  out.tokens = int64_t(rows[0].size());
  for (size_t r = 0; r < rows.size(); ++r) {
    out.lengths.push_back(int64_t(rows[r].size()));
    out.values.insert(out.values.end(), rows[r].begin(), rows[r].end());
  }
  return out;
}

Ids idsFromTensor(const braid::rt::StTensor &t) {
  Ids ids;
  if (t.shape.size() == 1) {
    ids.batch = 1;
    ids.tokens = t.shape[0];
  } else if (t.shape.size() == 2) {
    ids.batch = t.shape[0];
    ids.tokens = t.shape[1];
  } else {
    throw braid::rt::Error(braid::rt::ErrorCode::InvalidArgument,
                           *t.file + ": '" + t.name +
                               "' must be [T] or [B, T], found rank " +
                               std::to_string(t.shape.size()));
  }
  ids.values = braid::rt::readI64(t);
  ids.lengths.assign(size_t(ids.batch), ids.tokens);
  return ids;
}

Ids loadIds(const Args &a) {
  if (a.ids) {
    Ids ids = parseIdsText(*a.ids, "--ids");
    if (a.command != "generate")
      requireRectangular(ids, "--ids");
    return ids;
  }
  const std::string &path = *a.idsFile;
  if (path.size() > 12 && path.substr(path.size() - 12) == ".safetensors") {
    auto file = braid::rt::SafetensorsFile::open(path);
    const braid::rt::StTensor *t = file->find("input_ids");
    if (!t)
      throw braid::rt::Error(braid::rt::ErrorCode::InvalidArgument,
                             path + ": no 'input_ids' tensor");
    return idsFromTensor(*t);
  }
  std::ifstream in(path);
  if (!in)
    throw braid::rt::Error(braid::rt::ErrorCode::IO,
                           "cannot open '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  Ids ids = parseIdsText(text.str(), path);
  if (a.command != "generate")
    requireRectangular(ids, path);
  return ids;
}

//===----------------------------------------------------------------------===//
// Output helpers
//===----------------------------------------------------------------------===//

std::string humanBytes(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

std::string humanCount(double n) {
  char buf[32];
  if (n >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f G", n / 1e9);
  else if (n >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else if (n >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1f k", n / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string joinIds(const int64_t *ids, int64_t n, int64_t limit = 24) {
  std::string s;
  for (int64_t i = 0; i < n; ++i) {
    if (n > limit && i == limit / 2) {
      s += " ...";
      i = n - limit / 2;
    }
    s += (s.empty() ? "" : " ") + std::to_string(ids[i]);
  }
  return s;
}

std::string rowLabel(int64_t b) { return "row " + std::to_string(b); }

braid::SessionOptions sessionOptions(const Args &a, int64_t batch,
                                     int64_t seq) {
  braid::SessionOptions o;
  o.backend = a.backend;
  o.threads = a.threads;
  o.maxBatch = a.maxBatch.value_or(batch);
  o.maxSeqLen = a.maxSeq.value_or(seq);
  if (a.weights)
    o.weightsPath = *a.weights;
  o.randomSeed = a.seed;
  o.cudaGraph = a.cudaGraph;
  return o;
}

void printSession(const braid::Session &s) {
  braid_session_info i = s.info();
  std::printf("session   %s, weights %s, max batch %lld, max length %lld\n",
              i.backend, i.weights, (long long)i.max_batch,
              (long long)i.max_seq_len);
  std::printf("memory    weights %s (copies), states %s, arena %s\n",
              humanBytes(double(i.weight_bytes)).c_str(),
              humanBytes(double(i.state_bytes)).c_str(),
              humanBytes(double(i.arena_bytes)).c_str());
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

//===----------------------------------------------------------------------===//
// Commands
//===----------------------------------------------------------------------===//

/// What a GPU code section holds, for `info`: "cubin", "PTX, ...", "AMD
/// code object".
const char *codeKind(const std::string &arch) {
#ifdef BRAID_HAVE_CUDA_BACKEND
  if (auto n = braid::rt::gpu::parseArchName(arch))
    return n->ptx ? "PTX, compiled by the driver at load" : "cubin";
#endif
#ifdef BRAID_HAVE_HIP_BACKEND
  if (braid::rt::gpu::normalizeGcnArch(arch) == arch)
    return "AMD code objects, no JIT";
#endif
  return "unknown architecture";
}

/// GPU code sections: the modules of each architecture (docs/cuda.md), and
/// the AMD architectures the bundle can run on.
void printCodeSections(const std::string &path) {
  auto bundle = braid::rt::Bundle::open(path);
  std::string amd;
  for (const braid::rt::SectionInfo &s : bundle->sections()) {
    if (s.name.rfind("code.", 0) != 0)
      continue;
    std::string arch = s.name.substr(5);
    auto modules = braid::rt::gpu::parseCodeArchive(
        bundle->sectionData(s), path + " (section '" + s.name + "')");
    std::printf("code      %-24s %zu module%s (%s), %s\n", s.name.c_str(),
                modules.size(), modules.size() == 1 ? "" : "s", codeKind(arch),
                humanBytes(double(s.size)).c_str());
#ifdef BRAID_HAVE_HIP_BACKEND
    if (braid::rt::gpu::normalizeGcnArch(arch) == arch)
      amd += (amd.empty() ? "" : ", ") + arch;
#endif
  }
  if (!amd.empty())
    std::printf("amd       %s (--backend hip; no JIT: the GPU's own "
                "architecture must be among them)\n",
                amd.c_str());
}

int cmdInfo(const Args &a) {
  braid::Bundle bundle(a.bundle);
  braid_bundle_info info = bundle.info();
  std::printf("bundle    %s (%s, format version %u)\n", info.path,
              humanBytes(double(info.file_size)).c_str(), info.format_version);
  std::printf("model     %s%s%s\n", info.model,
              *info.generator ? ", generated by " : "", info.generator);
  std::printf("types     element type %s, vocab %lld, hidden %lld\n",
              info.element_type, (long long)info.vocab_size,
              (long long)info.hidden_size);
  std::string targets;
  for (const std::string &t : bundle.targets())
    targets += (targets.empty() ? "" : ", ") + t;
  std::printf("targets   %s\n", targets.c_str());
  std::printf("sections  %zu\n", info.num_sections);
  for (const braid_section_info &s : bundle.sections())
    std::printf("          %-24s %10s at %-10llu crc32 %08x\n", s.name,
                humanBytes(double(s.size)).c_str(),
                (unsigned long long)s.offset, s.crc32);
  printCodeSections(a.bundle);
  std::printf("entries   %zu\n", info.num_entries);
  for (const braid_entry_info &e : bundle.entries())
    std::printf("          %-8s %zu launches, %zu input%s, %zu output%s\n",
                e.name, e.num_launches, e.num_inputs,
                e.num_inputs == 1 ? "" : "s", e.num_outputs,
                e.num_outputs == 1 ? "" : "s");
  auto families = bundle.kernelFamilies();
  size_t missing = 0;
  std::printf("kernels   %zu families\n", families.size());
  for (const auto &[name, count] : families) {
    bool has = braid::backendHasKernel("cpu", name);
    missing += !has;
    std::printf("          %-20s %4zu launch%s%s\n", name.c_str(), count,
                count == 1 ? "" : "es",
                has ? "" : "   (not implemented by the cpu backend)");
  }
  auto weights = bundle.weights();
  std::printf("weights   %zu tensors, %s parameters (%s as f32)\n",
              weights.size(), humanCount(double(info.weight_elements)).c_str(),
              humanBytes(double(info.weight_elements) * 4).c_str());
  size_t shown =
      a.verbose ? weights.size() : std::min<size_t>(weights.size(), 8);
  for (size_t i = 0; i < shown; ++i) {
    const braid::TensorInfo &w = weights[i];
    std::printf("          %-40s %-16s %s  %s, %zu source%s\n", w.name.c_str(),
                braid::formatShape(w.shape).c_str(), w.dtype.c_str(),
                w.transform.c_str(), w.numSources,
                w.numSources == 1 ? "" : "s");
  }
  if (shown < weights.size())
    std::printf("          ... %zu more (-v lists them all)\n",
                weights.size() - shown);
  auto states = bundle.states();
  std::printf("states    %zu (B: batch, S: max sequence length)\n",
              states.size());
  size_t shownStates =
      a.verbose ? states.size() : std::min<size_t>(states.size(), 12);
  for (size_t i = 0; i < shownStates; ++i)
    std::printf("          %-40s %-20s %s\n", states[i].name.c_str(),
                braid::formatShape(states[i].shape).c_str(),
                states[i].dtype.c_str());
  if (shownStates < states.size())
    std::printf("          ... %zu more (-v lists them all)\n",
                states.size() - shownStates);
  std::printf("arena     %lld bytes per token (%s for batch 1 x 2048 tokens)\n",
              (long long)info.arena_bytes_per_token,
              humanBytes(double(info.arena_bytes_per_token) * 2048).c_str());
  if (missing)
    std::printf("note      %zu kernel famil%s not implemented by this "
                "runtime's cpu backend: sessions on it will be refused\n",
                missing, missing == 1 ? "y is" : "ies are");
  return 0;
}

int cmdRun(const Args &a) {
  Ids ids = loadIds(a);
  braid::Bundle bundle(a.bundle);
  braid::Session session(bundle, sessionOptions(a, ids.batch, ids.tokens));
  printSession(session);
  const int64_t V = session.vocabSize();
  std::vector<float> logits;
  std::vector<double> times;
  for (int64_t r = 0; r < a.repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    session.prefill(ids.values, ids.batch, ids.tokens, logits);
    double s = seconds(t0);
    times.push_back(s);
    std::printf("prefill   %lld x %lld tokens in %.2f ms (%.0f tokens/s)%s\n",
                (long long)ids.batch, (long long)ids.tokens, s * 1e3,
                double(ids.batch * ids.tokens) / s,
                a.repeat > 1 ? (r == 0 ? "  [run 1: with one-time costs]"
                                       : "")
                             : "");
  }
  if (a.repeat > 1) {
    std::vector<double> later(times.begin() + 1, times.end());
    std::sort(later.begin(), later.end());
    std::printf("prefill   runs 2..%lld: fastest %.2f ms, median %.2f ms\n",
                (long long)a.repeat, later.front() * 1e3,
                later[later.size() / 2] * 1e3);
  }
  std::printf("logits    [%lld, %lld, %lld] f32\n", (long long)ids.batch,
              (long long)ids.tokens, (long long)V);
  for (int64_t b = 0; b < ids.batch; ++b) {
    std::vector<int64_t> am(size_t(ids.tokens));
    for (int64_t t = 0; t < ids.tokens; ++t) {
      const float *row = logits.data() + (b * ids.tokens + t) * V;
      am[size_t(t)] = std::max_element(row, row + V) - row;
    }
    std::printf("%-10sargmax per position: %s\n", rowLabel(b).c_str(),
                joinIds(am.data(), ids.tokens).c_str());
    const float *first = logits.data() + b * ids.tokens * V;
    std::printf("          position 0, first values:");
    for (int64_t v = 0; v < std::min<int64_t>(V, 6); ++v)
      std::printf(" %.6g", first[v]);
    std::printf("\n");
  }
  bool finite = std::all_of(logits.begin(), logits.end(),
                            [](float x) { return std::isfinite(x); });
  if (!finite)
    std::printf("warning   the logits contain NaN or infinity\n");
  if (a.saveLogits) {
    braid::rt::writeSafetensors(*a.saveLogits,
                                {{"input_ids",
                                  braid::rt::StDType::I64,
                                  {ids.batch, ids.tokens},
                                  ids.values.data()},
                                 {"logits",
                                  braid::rt::StDType::F32,
                                  {ids.batch, ids.tokens, V},
                                  logits.data()}},
                                {{"bundle", a.bundle}});
    std::printf("saved     %s (input_ids, logits)\n", a.saveLogits->c_str());
  }
  return finite ? 0 : 1;
}

/// Greedy decoding of ragged rows through slot prefills, keeping the
/// logits: the prompts' last positions [B, V], then each decode step's
/// [B, V]. `feed` (when not empty, [B, n]) replaces the argmax as the next
/// token, so a row run alone follows the batch's tokens.
struct Decoded {
  std::vector<int64_t> tokens;            ///< [B, n]
  std::vector<std::vector<float>> logits; ///< n entries of [B, V]
};
Decoded decodeRows(braid::Session &session, const Ids &ids, int64_t first,
                   int64_t rows, int64_t n, const std::vector<int64_t> &feed) {
  const int64_t V = session.vocabSize();
  Decoded d;
  d.tokens.assign(size_t(rows * n), 0);
  std::vector<float> last(size_t(rows * V));
  size_t offset = 0;
  for (int64_t r = 0; r < first; ++r)
    offset += size_t(ids.lengths[size_t(r)]);
  for (int64_t b = 0, e; b < rows; b = e) {
    int64_t len = ids.lengths[size_t(first + b)];
    for (e = b + 1; e < rows && ids.lengths[size_t(first + e)] == len; ++e)
      ;
    std::vector<int64_t> part(ids.values.begin() + offset,
                              ids.values.begin() + offset + (e - b) * len);
    offset += size_t((e - b) * len);
    std::vector<float> l = session.prefillSlots(b, part, e - b, len);
    std::copy(l.begin(), l.end(), last.begin() + b * V);
  }
  d.logits.push_back(std::move(last));
  std::vector<int64_t> next(static_cast<size_t>(rows));
  for (int64_t step = 0; step < n; ++step) {
    if (step > 0)
      d.logits.push_back(session.decode(next));
    const std::vector<float> &l = d.logits.back();
    for (int64_t b = 0; b < rows; ++b) {
      const float *row = l.data() + b * V;
      d.tokens[size_t(b * n + step)] = std::max_element(row, row + V) - row;
      next[size_t(b)] = feed.empty() ? d.tokens[size_t(b * n + step)]
                                     : feed[size_t(b * n + step)];
    }
  }
  return d;
}

/// --compare-alone: each row again in a session of batch 1, fed the batch's
/// tokens; rel-L2 of its logits against the batch's over every step.
bool compareAlone(const Args &a, const braid::Bundle &bundle,
                  braid::Session &session, const Ids &ids, int64_t n) {
  const int64_t V = session.vocabSize();
  Decoded batch = decodeRows(session, ids, 0, ids.batch, n, {});
  Args one = a;
  one.maxBatch = 1;
  braid::Session single(bundle,
                        sessionOptions(one, 1, session.info().max_seq_len));
  bool ok = true;
  std::printf("\n%-4s %-7s %-14s %-12s %-12s %s\n", "row", "prompt",
              "rel-L2 alone", "max |diff|", "tolerance", "result");
  for (int64_t b = 0; b < ids.batch; ++b) {
    std::vector<int64_t> feed(batch.tokens.begin() + b * n,
                              batch.tokens.begin() + (b + 1) * n);
    Decoded alone = decodeRows(single, ids, b, 1, n, feed);
    double num = 0, den = 0, maxDiff = 0;
    for (int64_t step = 0; step < n; ++step)
      for (int64_t v = 0; v < V; ++v) {
        double want = batch.logits[size_t(step)][size_t(b * V + v)];
        double d = double(alone.logits[size_t(step)][size_t(v)]) - want;
        num += d * d;
        den += want * want;
        maxDiff = std::max(maxDiff, std::fabs(d));
      }
    double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    bool rowOk = rel <= a.tolerance; // false for NaN
    ok &= rowOk;
    std::printf("%-4lld %-7lld %-14.3e %-12.3e %-12.1e %s\n", (long long)b,
                (long long)ids.lengths[size_t(b)], rel, maxDiff, a.tolerance,
                rowOk ? "ok" : "FAIL");
  }
  std::printf("%s: every row's logits over %lld step%s %s those of the row "
              "alone (rel-L2 <= %.1e)\n",
              ok ? "PASS" : "FAIL", (long long)n, n == 1 ? "" : "s",
              ok ? "match" : "do not all match", a.tolerance);
  return ok;
}

/// "greedy" or "temperature 0.8, top-k 40, top-p 0.95, seed 7" (top-k and
/// top-p only when on), as the runtime's describeSampling.
std::string describe(const braid::Sampling &s) {
  braid::rt::SamplingOptions o;
  o.temperature = s.temperature;
  o.topK = s.topK;
  o.topP = s.topP;
  o.seed = s.seed;
  return braid::rt::describeSampling(o);
}

int cmdGenerate(const Args &a) {
  Ids ids = loadIds(a);
  int64_t n = *a.newTokens;
  int64_t longest = *std::max_element(ids.lengths.begin(), ids.lengths.end());
  int64_t shortest = *std::min_element(ids.lengths.begin(), ids.lengths.end());
  int64_t promptTokens = int64_t(ids.values.size());
  braid::Bundle bundle(a.bundle);
  braid::Session session(bundle, sessionOptions(a, ids.batch, longest + n - 1));
  printSession(session);
  braid_generate_stats stats{};
  std::vector<int64_t> out;
  if (ids.ragged()) {
    std::vector<std::vector<int64_t>> prompts;
    auto it = ids.values.begin();
    for (int64_t len : ids.lengths) {
      prompts.emplace_back(it, it + len);
      it += len;
    }
    out = session.generate(prompts, n, a.sampling, &stats);
  } else {
    out = session.generate(ids.values, ids.batch, ids.tokens, n, a.sampling,
                           &stats);
  }
  const int64_t *prompt = ids.values.data();
  for (int64_t b = 0; b < ids.batch; ++b) {
    int64_t len = ids.lengths[size_t(b)];
    std::printf("%-10sprompt:    %s\n", rowLabel(b).c_str(),
                joinIds(prompt, len).c_str());
    std::printf("          generated: %s\n",
                joinIds(out.data() + b * n, n, 1 << 30).c_str());
    prompt += len;
  }
  std::string shape =
      shortest == longest
          ? std::to_string(ids.batch) + " x " + std::to_string(longest)
          : std::to_string(ids.batch) + " prompts of " +
                std::to_string(shortest) + ".." + std::to_string(longest);
  std::printf("prefill   %s tokens in %.2f ms (%.0f tokens/s)\n", shape.c_str(),
              stats.prefill_seconds * 1e3,
              double(promptTokens) / stats.prefill_seconds);
  if (stats.decode_steps > 0)
    std::printf("decode    %lld steps in %.2f ms: %.3f ms/step, %.1f "
                "tokens/s (batch %lld)\n",
                (long long)stats.decode_steps, stats.decode_seconds * 1e3,
                stats.decode_seconds * 1e3 / double(stats.decode_steps),
                double(stats.decode_steps * ids.batch) / stats.decode_seconds,
                (long long)ids.batch);
  const bool greedy = a.sampling.temperature == 0;
  const char *where = stats.decode_on_device
                          ? "on the device (decode_greedy: no host work "
                            "between steps)"
                          : "on the host (logits copied back every step)";
  if (!greedy || stats.decode_steps > 0)
    std::printf("sampling  %s%s%s\n", describe(a.sampling).c_str(),
                stats.decode_steps > 0 ? ", " : "",
                stats.decode_steps > 0 ? where : "");
  double total = stats.prefill_seconds + stats.decode_seconds;
  std::printf("total     %lld new tokens in %.2f ms (%.1f tokens/s)\n",
              (long long)(n * ids.batch), total * 1e3,
              double(n * ids.batch) / total);
  if (a.compareAlone && !compareAlone(a, bundle, session, ids, n))
    return 1;
  return 0;
}

int cmdCheck(const Args &a) {
  using braid::rt::Error;
  using braid::rt::ErrorCode;
  auto golden = braid::rt::SafetensorsFile::open(*a.golden);
  auto need = [&](const char *name) {
    const braid::rt::StTensor *t = golden->find(name);
    if (!t)
      throw Error(ErrorCode::InvalidArgument,
                  *a.golden + ": no '" + name + "' tensor");
    return t;
  };
  Ids ids = idsFromTensor(*need("input_ids"));
  const braid::rt::StTensor *goldenLogits = need("logits");
  const braid::rt::StTensor *generatedT = need(a.goldenTokens.c_str());
  if (generatedT->shape.size() != 2 || generatedT->shape[0] != ids.batch ||
      generatedT->shape[1] < ids.tokens)
    throw Error(ErrorCode::InvalidArgument,
                *a.golden + ": '" + a.goldenTokens + "' has shape " +
                    braid::formatShape(generatedT->shape) + ", expected [" +
                    std::to_string(ids.batch) + ", " +
                    std::to_string(ids.tokens) + " + new tokens]");
  std::vector<int64_t> generated = braid::rt::readI64(*generatedT);
  int64_t total = generatedT->shape[1];
  int64_t n = total - ids.tokens;

  braid::Bundle bundle(a.bundle);
  const int64_t V = bundle.info().vocab_size;
  std::vector<int64_t> wantLogits{ids.batch, ids.tokens, V};
  if (goldenLogits->shape != wantLogits)
    throw Error(ErrorCode::InvalidArgument,
                *a.golden + ": 'logits' has shape " +
                    braid::formatShape(goldenLogits->shape) + ", expected " +
                    braid::formatShape(wantLogits) +
                    " (input_ids and the bundle's vocabulary)");
  std::vector<float> ref = braid::rt::readF32(*goldenLogits);
  std::printf("golden    %s: input_ids [%lld, %lld], logits [%lld, %lld, "
              "%lld], generated [%lld, %lld] (%lld new)\n",
              a.golden->c_str(), (long long)ids.batch, (long long)ids.tokens,
              (long long)ids.batch, (long long)ids.tokens, (long long)V,
              (long long)ids.batch, (long long)total, (long long)n);

  braid::Session session(
      bundle, sessionOptions(a, ids.batch, std::max(total, ids.tokens)));
  printSession(session);
  std::vector<float> logits =
      session.prefill(ids.values, ids.batch, ids.tokens);
  // Generation starts as Session::generate does, from prefill_last (the
  // bundle's entry, or prefill's last rows for an older bundle): it starts
  // the sequences again, so the decodes below continue from its states, and
  // its logits must be prefill's last rows.
  std::vector<float> lastLogits =
      session.prefillLast(ids.values, ids.batch, ids.tokens);
  // Greedy continuation (as Session::generate), keeping each step's top-2
  // margin relative to the logits' L2 norm for --margin: the golden's own
  // at the first new token, Braid's after it.
  std::vector<int64_t> tokens(size_t(ids.batch * std::max<int64_t>(n, 0)));
  std::vector<double> margins(tokens.size(), 0.0);
  std::vector<float> decodeLogits; // [n - 1, B, V], for --save-logits
  // A golden saved by --save-logits of another bundle also holds its decode
  // steps' logits: compared per row like the prefill logits.
  const braid::rt::StTensor *goldenDecode = golden->find("decode_logits");
  if (goldenDecode &&
      goldenDecode->shape !=
          std::vector<int64_t>{std::max<int64_t>(n - 1, 0), ids.batch, V})
    throw Error(ErrorCode::InvalidArgument,
                *a.golden + ": 'decode_logits' has shape " +
                    braid::formatShape(goldenDecode->shape) + ", expected [" +
                    std::to_string(n - 1) + ", " + std::to_string(ids.batch) +
                    ", " + std::to_string(V) + "]");
  auto top = [&](const float *row, double *margin) {
    int64_t best = std::max_element(row, row + V) - row;
    double second = -INFINITY, norm = 0;
    for (int64_t v = 0; v < V; ++v) {
      norm += double(row[v]) * double(row[v]);
      if (v != best)
        second = std::max(second, double(row[v]));
    }
    if (margin)
      *margin = norm > 0 ? (double(row[best]) - second) / std::sqrt(norm) : 0;
    return best;
  };
  if (n > 0) {
    std::vector<int64_t> next(static_cast<size_t>(ids.batch));
    for (int64_t b = 0; b < ids.batch; ++b) {
      int64_t last = (b * ids.tokens + ids.tokens - 1) * V;
      next[size_t(b)] = top(lastLogits.data() + b * V, nullptr);
      top(ref.data() + last, &margins[size_t(b * n)]);
      tokens[size_t(b * n)] = next[size_t(b)];
    }
    for (int64_t step = 1; step < n; ++step) {
      std::vector<float> stepLogits = session.decode(next);
      if (a.saveLogits || goldenDecode)
        decodeLogits.insert(decodeLogits.end(), stepLogits.begin(),
                            stepLogits.end());
      for (int64_t b = 0; b < ids.batch; ++b) {
        next[size_t(b)] =
            top(stepLogits.data() + b * V, &margins[size_t(b * n + step)]);
        tokens[size_t(b * n + step)] = next[size_t(b)];
      }
    }
  }

  bool ok = true;
  std::printf("\n%-4s %-14s %-12s %-12s %-10s %s\n", "row", "logits rel-L2",
              "max |diff|", "tolerance", "tokens", "result");
  std::vector<std::string> details;
  for (int64_t b = 0; b < ids.batch; ++b) {
    double num = 0, den = 0, maxDiff = 0;
    size_t begin = size_t(b * ids.tokens * V),
           end = begin + size_t(ids.tokens * V);
    for (size_t i = begin; i < end; ++i) {
      double d = double(logits[i]) - double(ref[i]);
      num += d * d;
      den += double(ref[i]) * double(ref[i]);
      maxDiff = std::max(maxDiff, std::fabs(d));
    }
    double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    bool logitsOk = rel <= a.tolerance; // false for NaN
    int64_t same = 0, firstDiff = -1;
    for (int64_t i = 0; i < n; ++i) {
      bool eq = tokens[size_t(b * n + i)] ==
                generated[size_t(b * total + ids.tokens + i)];
      same += eq;
      if (!eq && firstDiff < 0)
        firstDiff = i;
    }
    bool tokensOk = same == n;
    bool byMargin = false;
    if (!tokensOk && a.margin &&
        margins[size_t(b * n + firstDiff)] < *a.margin) {
      tokensOk = byMargin = true;
      details.push_back(
          "row " + std::to_string(b) +
          ": greedy tokens first differ at new "
          "token " +
          std::to_string(firstDiff) + ", where the top-2 margin is " +
          std::to_string(margins[size_t(b * n + firstDiff)]) +
          " of the logits' norm, below --margin " + std::to_string(*a.margin) +
          ": accepted by the margin rule (later tokens not compared)");
    }
    ok &= logitsOk && tokensOk;
    char tok[48];
    std::snprintf(tok, sizeof tok, "%lld/%lld", (long long)same, (long long)n);
    std::printf("%-4lld %-14.3e %-12.3e %-12.1e %-10s %s\n", (long long)b, rel,
                maxDiff, a.tolerance, tok,
                logitsOk && tokensOk ? (byMargin ? "ok (margin rule)" : "ok")
                : !logitsOk && !tokensOk ? "FAIL (logits, tokens)"
                : !logitsOk              ? "FAIL (logits)"
                                         : "FAIL (tokens)");
    if (!tokensOk)
      details.push_back(
          "row " + std::to_string(b) + ": braid  " +
          joinIds(tokens.data() + b * n, n, 1 << 30) + "\n       golden " +
          joinIds(generated.data() + b * total + ids.tokens, n, 1 << 30) +
          "\n       first difference at new token " +
          std::to_string(firstDiff));
  }
  for (int64_t b = 0; b < ids.batch; ++b) {
    // Printed only when it fails: the table above is about the golden.
    double num = 0, den = 0;
    const float *all = logits.data() + (b * ids.tokens + ids.tokens - 1) * V;
    for (int64_t v = 0; v < V; ++v) {
      double d = double(lastLogits[size_t(b * V + v)]) - double(all[v]);
      num += d * d;
      den += double(all[v]) * double(all[v]);
    }
    double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    if (!(rel <= a.tolerance)) {
      ok = false;
      details.push_back("row " + std::to_string(b) +
                        ": prefill_last's logits differ from prefill's last "
                        "position (rel-L2 " +
                        std::to_string(rel) + ")");
    }
  }
  if (goldenDecode && n > 1) {
    std::vector<float> want = braid::rt::readF32(*goldenDecode);
    std::printf("\n%-4s %-14s (%lld decode steps)\n", "row", "decode rel-L2",
                (long long)(n - 1));
    for (int64_t b = 0; b < ids.batch; ++b) {
      double num = 0, den = 0;
      for (int64_t step = 0; step + 1 < n; ++step)
        for (int64_t v = 0; v < V; ++v) {
          size_t i = size_t((step * ids.batch + b) * V + v);
          double d = double(decodeLogits[i]) - double(want[i]);
          num += d * d;
          den += double(want[i]) * double(want[i]);
        }
      double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
      bool rowOk = rel <= a.tolerance; // false for NaN
      ok &= rowOk;
      std::printf("%-4lld %-14.3e %s\n", (long long)b, rel,
                  rowOk ? "ok" : "FAIL (decode logits)");
    }
  }
  for (const std::string &d : details)
    std::printf("%s\n", d.c_str());
  if (a.saveLogits) {
    std::vector<int64_t> promptAndTokens;
    for (int64_t b = 0; b < ids.batch; ++b) {
      promptAndTokens.insert(promptAndTokens.end(),
                             ids.values.begin() + b * ids.tokens,
                             ids.values.begin() + (b + 1) * ids.tokens);
      promptAndTokens.insert(promptAndTokens.end(), tokens.begin() + b * n,
                             tokens.begin() + (b + 1) * n);
    }
    std::vector<braid::rt::StOutTensor> out = {
        {"input_ids",
         braid::rt::StDType::I64,
         {ids.batch, ids.tokens},
         ids.values.data()},
        {"logits",
         braid::rt::StDType::F32,
         {ids.batch, ids.tokens, V},
         logits.data()},
        {"tokens", braid::rt::StDType::I64, {ids.batch, n}, tokens.data()},
        // The prompt and the new tokens: the file is a golden for check.
        {"generated",
         braid::rt::StDType::I64,
         {ids.batch, ids.tokens + n},
         promptAndTokens.data()}};
    if (n > 1)
      out.push_back({"decode_logits",
                     braid::rt::StDType::F32,
                     {n - 1, ids.batch, V},
                     decodeLogits.data()});
    braid::rt::writeSafetensors(*a.saveLogits, out, {{"bundle", a.bundle}});
    std::printf("saved     %s (input_ids, logits, tokens, generated%s)\n",
                a.saveLogits->c_str(), n > 1 ? ", decode_logits" : "");
  }
  std::printf(
      "%s: logits rel-L2 <= %.1e and %lld greedy tokens per row %s%s\n",
      ok ? "PASS" : "FAIL", a.tolerance, (long long)n,
      ok ? "match" : "do not all hold",
      a.margin
          ? (" (margin rule: below " + std::to_string(*a.margin) + ")").c_str()
          : "");
  return ok ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  Args args;
  try {
    args = parseArgs(argc, argv);
  } catch (const UsageError &e) {
    std::fprintf(stderr, "braid-run: %s\n(braid-run --help shows the usage)\n",
                 e.message.c_str());
    return 2;
  }
  try {
    if (args.command == "help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (args.command == "info")
      return cmdInfo(args);
    if (args.command == "run")
      return cmdRun(args);
    if (args.command == "generate")
      return cmdGenerate(args);
    return cmdCheck(args);
  } catch (const UsageError &e) {
    std::fprintf(stderr, "braid-run: %s\n(braid-run --help shows the usage)\n",
                 e.message.c_str());
    return 2;
  } catch (const braid::Error &e) {
    std::fprintf(stderr, "braid-run: error: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "braid-run: error: %s\n", e.what());
    return 1;
  }
}
