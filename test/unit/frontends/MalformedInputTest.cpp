//===- MalformedInputTest.cpp - one located line per bad input ------------===//
//
// Each case feeds one defect and checks the whole message: where (file:line:
// col, or the file), and what was expected and found. None may crash.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestUtils.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

/// A valid Bamba config (the golden's essentials), one key per line, so
/// that tests can point at line:col.
const char *kBamba = R"({
  "model_type": "bamba",
  "vocab_size": 256,
  "hidden_size": 64,
  "intermediate_size": 128,
  "num_hidden_layers": 4,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "attn_layer_indices": [1],
  "mamba_n_heads": 8,
  "mamba_d_head": 16,
  "mamba_d_state": 16,
  "mamba_chunk_size": 16,
  "time_step_limit": [0.0, {"__float__": "Infinity"}],
  "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}
})";

/// kBamba with the first occurrence of `from` replaced by `to`.
std::string bambaWith(const std::string &from, const std::string &to) {
  std::string text = kBamba;
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  return text;
}

std::string importError(const std::string &json) {
  std::string message = errorOf(importText(json));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

std::string parseError(const std::string &text) {
  std::string message = errorOf(parseDSL(text, "m.braid"));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

//===----------------------------------------------------------------------===//
// Hugging Face configs
//===----------------------------------------------------------------------===//

TEST(MalformedConfig, BaselineImports) {
  EXPECT_TRUE(bool(importText(kBamba)));
}

TEST(MalformedConfig, BadJSONHasLineAndColumn) {
  EXPECT_EQ(
      importError(bambaWith("\"hidden_size\": 64,", "\"hidden_size\": ,")),
      "config.json:4:18: error: invalid JSON: Invalid JSON value");
}

TEST(MalformedConfig, NotAnObject) {
  EXPECT_EQ(importError("[1, 2]"),
            "config.json: error: a config must be a JSON object, found [1,2]");
}

TEST(MalformedConfig, UnknownModelTypeListsTheSupportedOnes) {
  EXPECT_EQ(importError(bambaWith("\"bamba\"", "\"mamba3\"")),
            "config.json:2:17: error: unknown model_type 'mamba3' (supported: "
            "bamba, nemotron_h, jamba, zamba2, falcon_h1, granitemoehybrid, "
            "llama)");
}

TEST(MalformedConfig, MissingModelType) {
  EXPECT_EQ(importError(bambaWith("\"model_type\": \"bamba\",", "")),
            "config.json:1:1: error: missing required key 'model_type'");
}

TEST(MalformedConfig, MissingRequiredKey) {
  EXPECT_EQ(importError(bambaWith("\"hidden_size\": 64,", "")),
            "config.json:1:1: error: missing required key 'hidden_size'");
}

TEST(MalformedConfig, WrongValueType) {
  EXPECT_EQ(
      importError(bambaWith("\"hidden_size\": 64", "\"hidden_size\": \"64\"")),
      "config.json:4:18: error: 'hidden_size' must be an integer, "
      "found \"64\"");
}

TEST(MalformedConfig, NonPositiveSize) {
  EXPECT_EQ(importError(bambaWith("\"vocab_size\": 256", "\"vocab_size\": -3")),
            "config.json:3:17: error: 'vocab_size' must be positive, found -3");
}

TEST(MalformedConfig, HeadsNotDivisibleByKVHeads) {
  EXPECT_EQ(importError(bambaWith("\"num_key_value_heads\": 2",
                                  "\"num_key_value_heads\": 3")),
            "config.json:8:26: error: num_attention_heads (4) is not "
            "divisible by num_key_value_heads (3)");
}

TEST(MalformedConfig, HiddenNotDivisibleByHeads) {
  EXPECT_EQ(importError(bambaWith("\"num_attention_heads\": 4,\n  "
                                  "\"num_key_value_heads\": 2",
                                  "\"num_attention_heads\": 5,\n  "
                                  "\"num_key_value_heads\": 5")),
            "config.json:7:26: error: hidden_size (64) is not divisible by "
            "num_attention_heads (5)");
}

TEST(MalformedConfig, MambaHeadsDoNotCoverInnerSize) {
  EXPECT_EQ(
      importError(bambaWith("\"mamba_d_head\": 16", "\"mamba_d_head\": 12")),
      "config.json:11:19: error: mamba_n_heads (8) x mamba_d_head (12) "
      "must equal the Mamba2 inner size 128");
}

TEST(MalformedConfig, AttentionIndexOutOfRange) {
  EXPECT_EQ(importError(bambaWith("[1]", "[1, 9]")),
            "config.json:9:29: error: attention layer index 9 is outside "
            "[0, 4)");
}

TEST(MalformedConfig, UnsupportedRopeType) {
  EXPECT_EQ(importError(bambaWith("\"rope_type\": \"default\"",
                                  "\"rope_type\": \"yarn\"")),
            "config.json:15:59: error: unsupported rope_type 'yarn' "
            "(supported: default)");
}

TEST(MalformedConfig, TimeStepLimitNeedsTwoValues) {
  EXPECT_EQ(importError(bambaWith("[0.0, {", "[0.0, 1.0, {")),
            "config.json:14:22: error: 'time_step_limit' must hold two "
            "numbers [min, max], found 3");
}

TEST(MalformedConfig, UnsupportedActivation) {
  EXPECT_EQ(importError(bambaWith("\"vocab_size\": 256,",
                                  "\"vocab_size\": 256, \"hidden_act\": "
                                  "\"quick_gelu\",")),
            "config.json:3:36: error: unsupported activation 'quick_gelu' "
            "(supported: silu, swish, gelu, gelu_new, gelu_pytorch_tanh, "
            "gelu_fast, relu, relu2, sigmoid, tanh, linear)");
}

const char *kNemotron = R"({
  "model_type": "nemotron_h",
  "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
  "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
  "mamba_num_heads": 8, "mamba_head_dim": 16, "n_groups": 2,
  "ssm_state_size": 16,
  "hybrid_override_pattern": "M-X*-M"
})";

TEST(MalformedConfig, BadPatternCharacterNamesCharAndIndex) {
  EXPECT_EQ(importError(kNemotron),
            "config.json:7:33: error: bad character 'X' at index 2 of "
            "hybrid_override_pattern (expected M, *, - or E)");
}

TEST(MalformedConfig, UnknownNemotronLayerType) {
  std::string text = kNemotron;
  text.replace(text.find("\"hybrid_override_pattern\": \"M-X*-M\""), 35,
               "\"layers_block_type\": [\"mlp\", \"conv\"]");
  EXPECT_EQ(importError(text),
            "config.json:7:32: error: unknown layer type 'conv' (expected "
            "linear_attention, full_attention, mlp or moe)");
}

TEST(MalformedConfig, JambaOffsetBeyondPeriod) {
  EXPECT_EQ(importError(R"({"model_type": "jamba", "vocab_size": 8,
 "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
 "num_attention_heads": 2, "num_key_value_heads": 2,
 "attn_layer_period": 2, "attn_layer_offset": 2})"),
            "config.json:4:47: error: attn_layer_offset (2) must be in [0, "
            "attn_layer_period = 2)");
}

TEST(MalformedConfig, FalconMultiplierCount) {
  EXPECT_EQ(importError(R"({"model_type": "falcon_h1", "vocab_size": 8,
 "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
 "num_attention_heads": 2, "num_key_value_heads": 2, "mamba_n_heads": 4,
 "mlp_multipliers": [1.0, 2.0, 3.0]})"),
            "config.json:4:21: error: 'mlp_multipliers' must hold 2 numbers, "
            "found 3");
}

TEST(MalformedConfig, GraniteLayerTypesLength) {
  EXPECT_EQ(importError(R"({"model_type": "granitemoehybrid",
 "vocab_size": 8, "hidden_size": 16, "intermediate_size": 32,
 "num_hidden_layers": 3, "num_attention_heads": 2, "mamba_n_heads": 4,
 "layer_types": ["mamba", "attention"]})"),
            "config.json:4:17: error: layer_types lists 2 layers, "
            "num_hidden_layers is 3");
}

TEST(MalformedConfig, MissingFileOrFolder) {
  std::string path = sourcePath("test/data/no_such_model");
  EXPECT_EQ(errorOf(importHFConfig(path)),
            path + ": error: cannot read: No such file or directory");
}

//===----------------------------------------------------------------------===//
// Braid DSL
//===----------------------------------------------------------------------===//

const char *kModel =
    "model \"m\" { vocab 16; hidden 8; final_norm rms 1e-6 }\n";

TEST(MalformedDSL, UnknownKeyword) {
  EXPECT_EQ(parseError("modle \"m\" {}\n"),
            "m.braid:1:1: error: unknown keyword 'modle' (expected model, "
            "mamba, mamba2, attention, mlp, moe, parallel, shared, "
            "shared_block or pattern)");
}

TEST(MalformedDSL, UnknownField) {
  EXPECT_EQ(
      parseError(std::string(kModel) + "mlp F {\n  norm none\n  inter 4\n}\n"),
      "m.braid:4:3: error: unknown field 'inter' in mlp template "
      "(fields: intermediate, activation, gated, bias, gate_multiplier, "
      "down_multiplier, norm, input_multiplier, residual_multiplier, "
      "residual)");
}

TEST(MalformedDSL, MissingField) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mamba2 M { norm none; heads 2; head_dim 4; "
                       "gate_norm none }\npattern \"M\"\n"),
            "m.braid:2:8: error: mamba2 template 'M' is missing field "
            "'state'");
}

TEST(MalformedDSL, MissingModelField) {
  EXPECT_EQ(parseError("model \"m\" { vocab 16; final_norm none }\n"),
            "m.braid:1:7: error: model \"m\" is missing field 'hidden'");
}

TEST(MalformedDSL, BadNumber) {
  EXPECT_EQ(parseError("model \"m\" { vocab 16; hidden 8; final_norm rms "
                       "1e-6.5 }\n"),
            "m.braid:1:48: error: bad number '1e-6.5'");
}

TEST(MalformedDSL, IntegerExpected) {
  EXPECT_EQ(parseError("model \"m\" { vocab 1.5 }\n"),
            "m.braid:1:19: error: bad integer '1.5'");
  EXPECT_EQ(parseError("model \"m\" { vocab many }\n"),
            "m.braid:1:19: error: expected an integer, found 'many'");
}

TEST(MalformedDSL, TooManyValues) {
  EXPECT_EQ(parseError("model \"m\" { vocab 16 32 }\n"),
            "m.braid:1:22: error: expected the end of field 'vocab', found "
            "'32'");
}

TEST(MalformedDSL, DuplicateFieldAndTemplate) {
  EXPECT_EQ(parseError("model \"m\" { vocab 16; vocab 8 }\n"),
            "m.braid:1:23: error: field 'vocab' is given twice");
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4 }\n"
                       "mlp F { norm none; intermediate 4 }\n"),
            "m.braid:3:5: error: template 'F' is defined twice");
}

TEST(MalformedDSL, HeadsNotDivisibleByKVHeads) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "attention A { norm none; heads 4; kv_heads 3; "
                       "head_dim 2; rope none }\npattern \"A\"\n"),
            "m.braid:2:35: error: heads (4) must be divisible by kv_heads "
            "(3)");
}

TEST(MalformedDSL, UnknownTemplateInPattern) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4 }\n"
                       "pattern \"(F+G){2}\"\n"),
            "m.braid:3:13: error: unknown template 'G'");
}

TEST(MalformedDSL, UnclosedGroupInPattern) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4 }\n"
                       "pattern \"(F F\"\n"),
            "m.braid:3:14: error: expected ')' to close the group");
}

TEST(MalformedDSL, BadRepetitionCount) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4 }\n"
                       "pattern \"F{0}\"\n"),
            "m.braid:3:12: error: expected a positive repetition count, "
            "found '0'");
}

TEST(MalformedDSL, MissingModelAndPattern) {
  EXPECT_EQ(parseError("mlp F { norm none; intermediate 4 }\n"),
            "m.braid:1:1: error: missing 'model' block");
  EXPECT_EQ(parseError(kModel),
            "m.braid:1:1: error: missing 'pattern': no layer is stacked");
}

TEST(MalformedDSL, MergeMultipliersMustMatchBranches) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4 }\n"
                       "parallel P { norm none; branches F F; merge sum 1 2 3 "
                       "}\npattern \"P\"\n"),
            "m.braid:3:39: error: merge sum has 3 multipliers for 2 branches");
}

TEST(MalformedDSL, TemplateContainingItself) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "parallel P { norm none; branches P; merge mean }\n"
                       "pattern \"P\"\n"),
            "m.braid:2:34: error: template 'P' contains itself");
}

TEST(MalformedDSL, AdapterOnAMissingProjection) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4 }\n"
                       "shared_block S { blocks F }\n"
                       "shared H { norm none; block S; lora F up_proj 2 }\n"
                       "pattern \"H\"\n"),
            "m.braid:4:37: error: 'up_proj' is not a projection of 'F' "
            "(projections: gate_up_proj, down_proj)");
}

TEST(MalformedDSL, SharedBlockUsedDirectly) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4 }\n"
                       "shared_block S { blocks F }\npattern \"F S\"\n"),
            "m.braid:4:12: error: 'S' is a shared_block; use it through a "
            "shared template");
}

TEST(MalformedDSL, LexicalErrors) {
  EXPECT_EQ(parseError("model \"m { vocab 16 }\n"),
            "m.braid:1:7: error: unterminated string");
  EXPECT_EQ(parseError("model \"m\" { vocab [16] }\n"),
            "m.braid:1:19: error: unexpected character '['");
}

TEST(MalformedDSL, BadEnumValue) {
  EXPECT_EQ(parseError(std::string(kModel) +
                       "mlp F { norm none; intermediate 4; activation swish "
                       "}\n"),
            "m.braid:2:47: error: expected an activation (identity, silu, "
            "gelu, gelu_tanh, relu, relu2, sigmoid, softplus or tanh), found "
            "'swish'");
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

TEST(MalformedWeights, NotASafetensorsFile) {
  // A JSON file read as safetensors: its first 8 bytes make a header length
  // far beyond the file.
  std::string path = goldenDir("bamba_tiny") + "/config.json";
  std::string message = errorOf(readSafetensors(path));
  std::string prefix = path + ": error: not a safetensors file: header length ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix);
  EXPECT_NE(message.find(" does not fit in "), std::string::npos);
}

TEST(MalformedWeights, TruncatedFile) {
  llvm::SmallString<128> temp;
  ASSERT_FALSE(
      llvm::sys::fs::createTemporaryFile("braid", "safetensors", temp));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(temp, ec);
    os << "1234";
  }
  EXPECT_EQ(errorOf(readSafetensors(temp)),
            std::string(temp) + ": error: not a safetensors file: shorter "
                                "than its 8-byte header length");
  llvm::sys::fs::remove(temp);
}

TEST(MalformedWeights, FolderWithoutCheckpoint) {
  std::string path = sourcePath("test/data");
  EXPECT_EQ(errorOf(readSafetensors(path)),
            path + ": error: the folder has neither model.safetensors nor "
                   "model.safetensors.index.json");
}

TEST(MalformedWeights, ConfigOfAnotherModel) {
  // Jamba's config against Bamba's weights: every difference is reported,
  // each on its own line naming tensor, expected and found.
  ImportedModel jamba = importOrDie(goldenDir("jamba_tiny"));
  std::vector<std::string> problems =
      bindingProblems(jamba, goldenDir("bamba_tiny"));
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems.front(),
            goldenDir("bamba_tiny") +
                "/model.safetensors: error: tensor "
                "'model.layers.0.mamba.in_proj.weight' (for IR weight "
                "'layers.0.mixer.in_proj'): expected shape [256, 64], found "
                "[296, 64]");
  for (const std::string &p : problems)
    EXPECT_EQ(p.find('\n'), std::string::npos);
}

} // namespace
