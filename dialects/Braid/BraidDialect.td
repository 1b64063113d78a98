//===- BraidDialect.td - the braid dialect and its enums ---*- tablegen -*-===//
//
// The `braid` dialect describes hybrid recurrent/attention language models
// with value semantics on ranked tensors. This file holds the dialect, the
// base op class and the enumerations shared by its ops.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_DIALECT_TD
#define BRAID_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Braid_Dialect : Dialect {
  let name = "braid";
  let cppNamespace = "::braid";
  let summary = "Hybrid recurrent/attention model graphs";
  let description = [{
    The `braid` dialect holds a language model as a graph of fine-grained
    operations on ranked tensors: embeddings, norms, projections, rotary
    embeddings, attention (including multi-latent attention), causal
    depthwise convolutions, the Mamba1 selective scan and the Mamba2 SSD
    chunked scan, gated norms, mixture-of-experts, merges of parallel
    branches, and a structural `braid.layer` op that names the kind of a
    block so that interleaving passes can move whole blocks.

    Conventions used by every op:

    * Activations are `[batch, seq, ...]`; the batch and sequence dimensions
      may be dynamic (`?`), feature dimensions are static.
    * Linear weights are stored `[out_features, in_features]`, as Hugging
      Face stores them.
    * Recurrent state, convolution state and KV cache are explicit operands
      and results, never hidden globals.
    * Weights enter the graph through `braid.weight`, named by the IR weight
      name that the front end's binding table maps to a checkpoint tensor.
  }];
  let useDefaultAttributePrinterParser = 0;
  let hasCanonicalizer = 0;
}

class Braid_Op<string mnemonic, list<Trait> traits = []>
    : Op<Braid_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Enumerations
//===----------------------------------------------------------------------===//

def Braid_ActivationKind : I32EnumAttr<"ActivationKind",
    "element-wise activation function", [
      I32EnumAttrCase<"identity", 0>,
      I32EnumAttrCase<"silu", 1>,
      I32EnumAttrCase<"gelu", 2>,
      I32EnumAttrCase<"gelu_tanh", 3>,
      I32EnumAttrCase<"relu", 4>,
      I32EnumAttrCase<"relu2", 5>,
      I32EnumAttrCase<"sigmoid", 6>,
      I32EnumAttrCase<"softplus", 7>,
      I32EnumAttrCase<"tanh", 8>
    ]> {
  let cppNamespace = "::braid";
}

def Braid_LayerKind : I32EnumAttr<"LayerKind", "kind of a model block", [
      I32EnumAttrCase<"mamba", 0>,
      I32EnumAttrCase<"mamba2", 1>,
      I32EnumAttrCase<"attention", 2>,
      I32EnumAttrCase<"mlp", 3>,
      I32EnumAttrCase<"moe", 4>,
      I32EnumAttrCase<"parallel", 5>,
      I32EnumAttrCase<"shared", 6>
    ]> {
  let cppNamespace = "::braid";
}

def Braid_MergeMode : I32EnumAttr<"MergeMode",
    "how parallel branches are combined", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"concat_proj", 2>,
      I32EnumAttrCase<"attention", 3>
    ]> {
  let cppNamespace = "::braid";
}

def Braid_MoERouting : I32EnumAttr<"MoERouting",
    "how router logits become expert weights", [
      // softmax over all experts, then keep the top-k probabilities.
      I32EnumAttrCase<"softmax_topk", 0>,
      // keep the top-k logits, then softmax over those k.
      I32EnumAttrCase<"topk_softmax", 1>,
      // sigmoid of each logit, then keep the top-k.
      I32EnumAttrCase<"sigmoid_topk", 2>
    ]> {
  let cppNamespace = "::braid";
}

#endif // BRAID_DIALECT_TD
