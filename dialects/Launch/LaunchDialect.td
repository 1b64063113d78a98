//===- LaunchDialect.td - the launch dialect ----------------*- tablegen -*-===//
//
// The `launch` dialect is what a bundle serializes: weight-prep steps,
// persistent states, the planned arena, and entry functions made of kernel
// launches whose arguments are planned buffer slices.
//
//===----------------------------------------------------------------------===//
#ifndef LAUNCH_DIALECT_TD
#define LAUNCH_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Launch_Dialect : Dialect {
  let name = "launch";
  let cppNamespace = "::braid::launch";
  let summary = "Kernel launches over planned buffers";
  let description = [{
    The `launch` dialect is the plan a target turns into code and the
    runtime executes: one `launch.kernel` per kernel launch, in order, inside
    `launch.entry` functions (`prefill`, `decode`); module-level
    `launch.weight` steps that say how each weight is prepared from the
    checkpoint; `launch.state` buffers that persist across calls (KV caches,
    convolution and SSM states); and `launch.arena`, the planned size of the
    scratch memory.

    Buffers are attributes, not SSA values: after planning, a kernel's
    arguments are fixed slices. Shapes may use the symbols `B` (sequences in
    the call), `T` (tokens per sequence in the call) and `S` (the session's
    maximum sequence length).
  }];
  let useDefaultAttributePrinterParser = 1;
}

class Launch_Op<string mnemonic, list<Trait> traits = []>
    : Op<Launch_Dialect, mnemonic, traits>;

def Launch_BufferKind : I32EnumAttr<"BufferKind", "where a buffer lives", [
      I32EnumAttrCase<"arena", 0>,
      I32EnumAttrCase<"weight", 1>,
      I32EnumAttrCase<"state", 2>,
      I32EnumAttrCase<"input", 3>,
      I32EnumAttrCase<"output", 4>
    ]> {
  let cppNamespace = "::braid::launch";
}

def Launch_BufferAttr : AttrDef<Launch_Dialect, "Buffer"> {
  let mnemonic = "buffer";
  let summary = "a planned buffer slice: arena offset, weight, state or I/O";
  let description = [{
    One argument of a kernel launch. `arena` buffers carry an offset in bytes
    per token (the slice starts at byte `offset * B * T` of the arena);
    `weight`, `state`, `input` and `output` buffers carry a name. The shape
    may use the symbols B, T and S.

    ```mlir
    #launch.buffer<arena 256 : [B, T, 64] x f32>
    #launch.buffer<weight "layers.0.mixer.norm" : [64] x f32>
    #launch.buffer<state "layers.1.mixer.k_cache" : [B, 2, S, 16] x f32>
    ```
  }];
  let parameters = (ins "BufferKind":$kind, StringRefParameter<>:$name,
                        "int64_t":$offset,
                        ArrayRefParameter<"int64_t">:$shape,
                        "mlir::Type":$elementType);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bytes per element times the product of the static dimensions.
    int64_t getStaticBytes() const;
  }];
}

#endif // LAUNCH_DIALECT_TD
