//===- ModelSpec.h - architecture description shared by the front ends ----===//
//
// A ModelSpec is the in-memory description of a hybrid language model that
// every Braid front end produces (the Hugging Face importer, the Braid DSL
// parser) and that the lowering to the `braid` dialect consumes. It is fully
// explicit: every block instance of the stack carries all of its dimensions,
// flags and multipliers, so the lowering never has to know which model family
// a spec came from.
//
// The file also defines the weight binding table (IR weight name -> checkpoint
// tensors + load-time transform) and `enumerateWeights`, the one place that
// decides the IR weight names and shapes of a spec.
//
// No MLIR dependency: LLVM Support only.
//
//===----------------------------------------------------------------------===//
//
// Execution semantics (what the lowering must build)
// --------------------------------------------------
//   h = embed[ids] * embeddingMultiplier
//   e = h                                     (kept for shared blocks)
//   for each block b of `blocks`, in order:   h = apply(b, h)
//   logits = finalNorm(h) @ (lm_head or embed)^T * logitsMultiplier
//
// apply(b, h) for a block with residual:
//   x = b.inputMultiplier * b.norm(h)
//   h + b.residualMultiplier * F_b(x)
// and without residual (`residual == false`): b.residualMultiplier * F_b(x).
// Exception: a shared block whose output is SharedSpec::Output::NextInput
// leaves h unchanged; its output t is added to h only in front of the next
// block's norm, x = inMul * norm(h + t), while that block's residual still
// adds to the plain h (Zamba2 semantics).
//
// F_b by kind:
//   mamba     Mamba1 mixer (MambaSpec), the Jamba variant when dtBCNorm.
//   mamba2    Mamba2 mixer (Mamba2Spec).
//   attention causal self-attention (AttentionSpec).
//   mlp       feed-forward (MLPSpec).
//   moe       mixture of experts (MoESpec).
//   parallel  every branch reads the parallel block's x and applies its own
//             norm (usually none) and input multiplier, then its F; the merge
//             combines the branch outputs (ParallelSpec). Branches never have
//             a residual; the parallel block has one.
//   shared    runs the blocks of shared definition `definition` (weights
//             reused at every invocation) one after the other, the first on
//             x, or on concat(x, e) when concatEmbeddings; each of those
//             blocks follows apply() with its own norm and residual flag.
//             Then the per-invocation output linear, if any. LoRA adapters of
//             the invocation add to the outputs of the projections they
//             name, with the projection's own input.
//
// IR weight naming convention
// ---------------------------
// Names are Braid's own, not the checkpoint's; they have no ".weight" suffix.
//   embed                     [vocab, hidden]
//   final_norm, final_norm_bias [hidden]
//   lm_head                   [vocab, hidden]       (absent when tied)
// Each block instance has a prefix P (Block::prefix):
//   layers.<L>.<role>         block of layer group L of the stack; <role> is
//                             `mixer` (mamba, mamba2, attention, parallel),
//                             `ffn` (mlp, moe) or `shared` (shared); a second
//                             block of the same role in one layer group gets
//                             `mixer1`, `ffn1`, ...
//   <P>.<kind>[<k>]           branch of a parallel block P, named by its kind
//                             (`attention`, `mamba2`, ...; a repeated kind
//                             gets its index: `attention1`)
//   shared.<D>.<role>         block of shared definition D
// Under a prefix P (see enumerateWeights for the exact shapes):
//   <P>.norm, <P>.norm_bias   the block's pre-norm
//   mamba:     in_proj (rows: x then z), in_proj_bias, conv [C, K], conv_bias,
//              x_proj, dt_proj, dt_bias, A (= -exp(A_log)), D, dt_norm,
//              b_norm, c_norm, out_proj, out_proj_bias
//   mamba2:    in_proj (rows: z, x, B, C, dt), in_proj_bias, conv [C, K],
//              conv_bias, dt_bias, A (= -exp(A_log)), D, gate_norm, out_proj,
//              out_proj_bias
//   attention: q_proj, k_proj, v_proj, o_proj, and <name>_bias for each
//   mlp:       gate_up_proj (rows: gate then up) when gated, else up_proj;
//              down_proj; <name>_bias for each
//   moe:       router, router_bias, selection_bias, experts.gate_up_proj
//              [E, 2I, H] (gated) or experts.up_proj [E, I, H],
//              experts.down_proj [E, H, I], shared_expert.gate_up_proj or
//              shared_expert.up_proj, shared_expert.down_proj (+ _bias),
//              latent_in, latent_out (+ _bias)
//   parallel:  merge (concat_proj: [H, n*H]; attention: [H])
//   shared:    linear [H, H], and for each LoRA adapter on the definition's
//              weight shared.<D>.<role>.<proj>:
//              <P>.<role>.<proj>.lora_a [r, in], <P>.<role>.<proj>.lora_b
//              [out, r]; the adapted projection computes
//              x @ W^T + (x @ lora_a^T) @ lora_b^T.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_DSL_MODELSPEC_H
#define BRAID_FRONTENDS_DSL_MODELSPEC_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace braid {
namespace frontend {

//===----------------------------------------------------------------------===//
// Small enums
//===----------------------------------------------------------------------===//

/// Element type of the weights (and of activations, by default).
enum class DType { F32, F16, BF16 };

/// Same spelling as the braid dialect's ActivationKind.
enum class Activation {
  Identity,
  Silu,
  Gelu,     // exact (erf) GELU
  GeluTanh, // tanh approximation
  Relu,
  Relu2, // squared ReLU (Nemotron-H)
  Sigmoid,
  Softplus,
  Tanh
};

enum class NormKind { None, RMS, Layer };

enum class BlockKind { Mamba, Mamba2, Attention, MLP, MoE, Parallel, Shared };

/// Same spelling as the braid dialect's MoERouting.
enum class MoERouting {
  SoftmaxTopK, // softmax over all experts, keep the top k (Jamba)
  TopKSoftmax, // top k logits, softmax over them (GraniteMoeHybrid)
  SigmoidTopK  // sigmoid scores, top k (Nemotron-H)
};

/// Same spelling as the braid dialect's MergeMode.
enum class MergeMode { Sum, Mean, ConcatProj, Attention };

llvm::StringRef toString(DType dtype);
llvm::StringRef toString(Activation act);
llvm::StringRef toString(NormKind kind);
llvm::StringRef toString(BlockKind kind);
llvm::StringRef toString(MoERouting routing);
llvm::StringRef toString(MergeMode mode);

std::optional<DType> parseDType(llvm::StringRef text);
std::optional<Activation> parseActivation(llvm::StringRef text);
std::optional<MoERouting> parseMoERouting(llvm::StringRef text);
std::optional<MergeMode> parseMergeMode(llvm::StringRef text);
std::optional<BlockKind> parseBlockKind(llvm::StringRef text);

/// Number of bytes per element.
unsigned byteWidth(DType dtype);

constexpr double kInfinity = std::numeric_limits<double>::infinity();

//===----------------------------------------------------------------------===//
// Block bodies
//===----------------------------------------------------------------------===//

/// A normalization over the last dimension. Its weight (and bias) has the
/// width of the block's input: AttentionSpec::inputDim for attention blocks,
/// the hidden size for every other block.
struct NormSpec {
  NormKind kind = NormKind::None;
  double eps = 1e-5;
  bool bias = false; // LayerNorm only

  bool operator==(const NormSpec &o) const;
  bool operator!=(const NormSpec &o) const { return !(*this == o); }
};

/// Mamba1 mixer:
///   [x, z] = split(in @ in_proj^T, [dInner, dInner])
///   x = act(conv(x)); [dt, B, C] = split(x @ x_proj^T, [dtRank, N, N])
///   (dt, B, C = rmsnorm each, when dtBCNorm; weights dt_norm, b_norm, c_norm)
///   dt = softplus(dt @ dt_proj^T + dt_bias)
///   y = selective_scan(x, dt, A, B, C) (+ D * x when skip)
///   out = (y * silu(z)) @ out_proj^T
struct MambaSpec {
  int64_t dInner = 0;
  int64_t stateSize = 0;
  int64_t convKernel = 4;
  int64_t dtRank = 0;
  bool convBias = true;
  bool inProjBias = false;
  bool outProjBias = false;
  bool dtProjBias = true;
  Activation activation = Activation::Silu; // after the conv
  bool dtBCNorm = false;                    // Jamba's dt/B/C RMS norms
  double dtBCNormEps = 1e-6;
  bool skip = true; // the D term

  bool operator==(const MambaSpec &o) const;
  bool operator!=(const MambaSpec &o) const { return !(*this == o); }
};

/// Mamba2 mixer:
///   p = (in @ in_proj^T (+ in_proj_bias)) * inProjMultipliers per section
///   [z, xBC, dt] = split(p, [dInner, dInner + 2*G*N, heads])
///   xBC = act(conv(xBC)); [x, B, C] = split(xBC, [dInner, G*N, G*N])
///   dt = clamp(softplus(dt + dt_bias), dtMin, dtMax)
///   y = ssd_scan(x, dt, A, B, C, chunkSize) (+ D * x when skip)
///   gated norm: y = gated_rms_norm(y, z) in groups of gateNormGroupSize,
///               norm before or after the gate;
///   otherwise:  y = y * silu(z)
///   out = y @ out_proj^T
struct Mamba2Spec {
  int64_t numHeads = 0;
  int64_t headDim = 0;
  int64_t numGroups = 1;
  int64_t stateSize = 0;
  int64_t chunkSize = 256;
  int64_t convKernel = 4;
  bool convBias = true;
  bool inProjBias = false;
  bool outProjBias = false;
  Activation activation = Activation::Silu; // after the conv
  double dtMin = 0.0;                       // clamp of softplus(dt + dt_bias)
  double dtMax = kInfinity;
  bool gateNorm = true;
  bool normBeforeGate = false;
  double gateNormEps = 1e-5;
  int64_t gateNormGroupSize = 0; // channels per norm group; dInner = 1 group
  bool skip = true;              // the D term
  /// Multipliers of the in_proj output sections z, x, B, C, dt (Falcon-H1's
  /// muP `ssm_multipliers`); all ones elsewhere.
  std::array<double, 5> inProjMultipliers = {1.0, 1.0, 1.0, 1.0, 1.0};

  int64_t dInner() const { return numHeads * headDim; }
  int64_t convChannels() const { return dInner() + 2 * numGroups * stateSize; }
  int64_t inProjRows() const { return dInner() + convChannels() + numHeads; }

  bool operator==(const Mamba2Spec &o) const;
  bool operator!=(const Mamba2Spec &o) const { return !(*this == o); }
};

/// Rotary position embedding of the first rotaryDim channels of each head
/// (GPT-NeoX half-split pairs unless interleaved).
struct RopeSpec {
  bool enabled = false;
  double theta = 10000.0;
  int64_t rotaryDim = 0;
  bool interleaved = false;

  bool operator==(const RopeSpec &o) const;
  bool operator!=(const RopeSpec &o) const { return !(*this == o); }
};

/// Causal self-attention:
///   q = x @ q_proj^T; k = (x @ k_proj^T) * keyMultiplier; v = x @ v_proj^T
///   q, k = rope(q, k)  when rope.enabled
///   o = attention(q, k, v, scale, slidingWindow, softcap) @ o_proj^T
struct AttentionSpec {
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t inputDim = 0;  // width of x (hidden; 2*hidden in Zamba2's shared)
  int64_t outputDim = 0; // width of o_proj's output (hidden)
  RopeSpec rope;
  bool qkvBias = false;
  bool oBias = false;
  double scale = 0.0; // score multiplier, usually headDim^-0.5
  std::optional<int64_t> slidingWindow;
  std::optional<double> softcap;
  double keyMultiplier = 1.0; // Falcon-H1

  bool operator==(const AttentionSpec &o) const;
  bool operator!=(const AttentionSpec &o) const { return !(*this == o); }
};

/// Feed-forward:
///   gated:     down(act(gate(x) * gateMultiplier) * up(x)) * downMultiplier
///   not gated: down(act(up(x))) * downMultiplier
/// where [gate; up] is the fused gate_up_proj.
struct MLPSpec {
  int64_t intermediate = 0;
  Activation activation = Activation::Silu;
  bool gated = true;
  bool bias = false;
  double gateMultiplier = 1.0; // Falcon-H1 mlp_multipliers[0]
  double downMultiplier = 1.0; // Falcon-H1 mlp_multipliers[1]

  bool operator==(const MLPSpec &o) const;
  bool operator!=(const MLPSpec &o) const { return !(*this == o); }
};

/// Mixture of experts. Router logits `x @ router^T (+ router_bias)`; weights
/// by `routing`; with `selectionBias` (Nemotron-H's e_score_correction_bias)
/// the bias is added to the scores only to *choose* the experts, the weights
/// come from the unbiased scores; with numGroups > 1 the choice is limited to
/// the topKGroups best groups of experts (group score: sum of its 2 best).
/// `normalizeTopK` renormalizes the k weights to sum 1 (Nemotron-H adds 1e-20
/// to the sum); then they are multiplied by routedScaling. Experts are MLPs
/// like MLPSpec (gated or not, `activation`); a shared expert, when
/// sharedIntermediate > 0, sees every token and is added. With latentDim > 0
/// the routed experts work in a latent space: latent_in before, latent_out
/// after.
struct MoESpec {
  int64_t numExperts = 0;
  int64_t topK = 0;
  int64_t expertIntermediate = 0;
  MoERouting routing = MoERouting::SoftmaxTopK;
  bool normalizeTopK = false;
  double routedScaling = 1.0;
  bool routerBias = false;
  bool selectionBias = false;
  int64_t numGroups = 1;
  int64_t topKGroups = 1;
  Activation activation = Activation::Silu;
  bool gatedExperts = true;
  int64_t sharedIntermediate = 0; // 0: no shared expert
  bool sharedGated = true;
  bool sharedBias = false;
  int64_t latentDim = 0; // 0: experts read the hidden state directly
  bool latentBias = false;

  bool operator==(const MoESpec &o) const;
  bool operator!=(const MoESpec &o) const { return !(*this == o); }
};

struct Block;

/// Branches run on the same (normalized) input; the merge combines them:
/// sum: sum_i m_i * b_i; mean: (1/n) sum_i m_i * b_i; concat_proj:
/// concat(b_i) @ merge^T; attention: softmax over branches of b_i . merge.
struct ParallelSpec {
  std::vector<Block> branches;
  MergeMode merge = MergeMode::Sum;
  std::vector<double> multipliers; // one per branch (sum, mean); else empty

  bool operator==(const ParallelSpec &o) const;
  bool operator!=(const ParallelSpec &o) const { return !(*this == o); }
};

/// A per-invocation low-rank adapter of one projection of the shared
/// definition's blocks.
struct LoRAAdapter {
  unsigned block = 0;     // index into SharedDefinition::blocks
  std::string projection; // weight leaf, e.g. "gate_up_proj", "q_proj"
  int64_t rank = 0;

  bool operator==(const LoRAAdapter &o) const;
  bool operator!=(const LoRAAdapter &o) const { return !(*this == o); }
};

/// One invocation of a shared block definition (Zamba2's hybrid layer).
struct SharedSpec {
  enum class Output {
    Residual, // h = h + out (as the block's residual)
    NextInput // out is added to the input of the next block's norm only
  };
  unsigned definition = 0; // index into ModelSpec::sharedDefinitions
  bool concatEmbeddings = false;
  bool outputLinear = false; // per-invocation [hidden, hidden] projection
  std::vector<LoRAAdapter> adapters;
  Output output = Output::Residual;

  bool operator==(const SharedSpec &o) const;
  bool operator!=(const SharedSpec &o) const { return !(*this == o); }
};

using BlockBody = std::variant<MambaSpec, Mamba2Spec, AttentionSpec, MLPSpec,
                               MoESpec, ParallelSpec, SharedSpec>;

//===----------------------------------------------------------------------===//
// Blocks and the model
//===----------------------------------------------------------------------===//

struct Block {
  BlockBody body;
  /// IR weight prefix ("layers.3.mixer"); see the naming convention above.
  std::string prefix;
  /// Index of the layer group this block belongs to (the <L> of the prefix);
  /// -1 for branches and shared-definition blocks.
  int64_t layer = -1;
  NormSpec norm;
  double inputMultiplier = 1.0;
  double residualMultiplier = 1.0;
  bool residual = true;

  BlockKind kind() const;
  template <typename T> T &as() { return std::get<T>(body); }
  template <typename T> const T &as() const { return std::get<T>(body); }
  template <typename T> bool is() const {
    return std::holds_alternative<T>(body);
  }

  bool operator==(const Block &o) const;
  bool operator!=(const Block &o) const { return !(*this == o); }
};

/// Blocks whose weights live once (prefix shared.<D>.<role>) and run at every
/// SharedSpec invocation, one after the other.
struct SharedDefinition {
  std::vector<Block> blocks;

  bool operator==(const SharedDefinition &o) const;
  bool operator!=(const SharedDefinition &o) const { return !(*this == o); }
};

struct ModelSpec {
  std::string name;
  DType dtype = DType::F32;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  bool tieWordEmbeddings = false;
  double embeddingMultiplier = 1.0;
  double logitsMultiplier = 1.0; // GraniteMoeHybrid: 1 / logits_scaling
  NormSpec finalNorm;
  std::vector<SharedDefinition> sharedDefinitions;
  std::vector<Block> blocks; // the stack, in execution order

  bool operator==(const ModelSpec &o) const;
  bool operator!=(const ModelSpec &o) const { return !(*this == o); }
};

//===----------------------------------------------------------------------===//
// Naming, weights, checks, dumps
//===----------------------------------------------------------------------===//

/// "mixer", "ffn" or "shared".
llvm::StringRef roleOf(BlockKind kind);

/// Fills Block::prefix of every block, branch and shared-definition block
/// from Block::layer and the position of each block, following the naming
/// convention. Both front ends call it, so their names agree.
void assignPrefixes(ModelSpec &spec);

/// One IR weight of a spec.
struct WeightDesc {
  std::string name;
  std::vector<int64_t> shape;
};

/// Every IR weight of the spec, in a stable order (embedding, blocks in stack
/// order, shared definitions, final norm, lm_head). Shared-definition weights
/// appear once.
std::vector<WeightDesc> enumerateWeights(const ModelSpec &spec);

/// Checks internal consistency: positive dimensions, head counts divisible,
/// rotary and group sizes in range, one multiplier per branch, shared
/// references valid, prefixes as assignPrefixes makes them. The message names
/// the block prefix and the field at fault.
llvm::Error verifySpec(const ModelSpec &spec);

/// Complete, explicit dump of a spec (every field), for tools and tests.
llvm::json::Value toJSON(const ModelSpec &spec);

/// Empty when equal; otherwise the path of the first difference and the two
/// values ("blocks[3].body.numHeads: 4 vs 8").
std::string firstDifference(const ModelSpec &a, const ModelSpec &b);

//===----------------------------------------------------------------------===//
// Weight binding table
//===----------------------------------------------------------------------===//

/// One checkpoint tensor that feeds a binding, with the shape it must have.
struct TensorSource {
  std::string tensor;
  std::vector<int64_t> shape;

  bool operator==(const TensorSource &o) const;
};

/// How the sources become the IR weight. Steps, in this order:
///   1. combine the sources (Single: one source; Concat: along `axis`;
///      Stack: along a new leading axis; StackOfConcat: consecutive groups of
///      `groupSize` sources are each concatenated along `axis`, then the
///      groups are stacked along a new leading axis);
///   2. elementwise: Identity or NegExp (`A = -exp(A_log)`);
///   3. reshape to WeightBinding::shape when it differs (same element count;
///      e.g. the conv weight [C, 1, K] -> [C, K]).
/// Multipliers are not folded into weights: they stay in the ModelSpec.
struct WeightTransform {
  enum class Combine { Single, Concat, Stack, StackOfConcat };
  enum class Elementwise { Identity, NegExp };
  Combine combine = Combine::Single;
  int64_t axis = 0;
  int64_t groupSize = 0;
  Elementwise elementwise = Elementwise::Identity;

  bool operator==(const WeightTransform &o) const;
};

struct WeightBinding {
  std::string irName;
  std::vector<TensorSource> sources;
  WeightTransform transform;
  std::vector<int64_t> shape; // IR shape after the transform
  DType dtype = DType::F32;   // dtype the sources must have
  /// Other checkpoint names of the same storage (tied weights) that may be
  /// present; they must then have the first source's shape and dtype.
  std::vector<std::string> tiedAliases;

  /// Readable form, e.g. "-exp(model.layers.0.mamba.A_log)" or
  /// "concat0(a, b)".
  std::string describe() const;
};

struct BindingTable {
  std::vector<WeightBinding> bindings;
  /// Checkpoint tensors the model never reads (parameters that exist in the
  /// source framework but feed no computation); they may be present and feed
  /// no IR weight.
  std::vector<std::string> unusedTensors;

  const WeightBinding *find(llvm::StringRef irName) const;
};

/// Checks that the binding table covers exactly enumerateWeights(spec) with
/// the same shapes, and that each binding's transform turns its source
/// shapes into its shape.
llvm::Error verifyBindingsAgainstSpec(const ModelSpec &spec,
                                      const BindingTable &table);

llvm::json::Value toJSON(const BindingTable &table);

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_DSL_MODELSPEC_H
