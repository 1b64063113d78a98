"""Numerical goldens for configurations the six public goldens do not cover.

For each family, tiny models whose head counts, groups, state sizes, chunk
sizes and layer patterns differ from ../goldens, built with transformers' own
classes, with every parameter redrawn so none is trivial. Each folder gets
config.json, model.safetensors and golden.safetensors (input_ids [2, 29],
logits, and `generated`: the prompt plus 5 greedy tokens with cache), like
the public goldens, plus `generated_nocache` (the same greedy continuation
recomputed without a cache, which tells a model's own cache bugs apart) and
`hidden_states` (the residual stream after the embedding and after every
layer, [layers + 1, 2, 29, hidden], for locating a disagreement). Greedy
search runs with no end-of-sequence token, so that no token is suppressed.
The integration tests check Braid against them.

Run where torch and transformers are installed (the GPU machine; CPU is
used): python make_variants.py OUT_DIR
"""
import json
import os
import sys
import traceback

import torch
import transformers as tf
from safetensors.torch import save_file

COMMON = dict(vocab_size=96, hidden_size=48, pad_token_id=0, bos_token_id=1,
              eos_token_id=2, tie_word_embeddings=False)


def variants():
    # Attention first and last, more heads than the golden, 2 SSM groups,
    # a smaller state, a chunk that does not divide the prompt, rotary 1/4.
    yield "bamba_groups", tf.BambaConfig(**COMMON, num_hidden_layers=4,
        attn_layer_indices=[0, 3], num_attention_heads=6, num_key_value_heads=3,
        intermediate_size=80, mamba_n_heads=6, mamba_d_head=16, mamba_n_groups=2,
        mamba_d_state=8, mamba_d_conv=3, mamba_expand=2, mamba_chunk_size=8,
        partial_rotary_factor=0.25)
    # Another pattern with MQA attention, 4 groups, a larger state.
    yield "nemotronh_pattern", tf.NemotronHConfig(**COMMON,
        layers_block_type=["full_attention", "linear_attention", "mlp",
                           "linear_attention", "linear_attention", "mlp"],
        num_attention_heads=4, num_key_value_heads=1, head_dim=12,
        intermediate_size=72, mamba_num_heads=8, mamba_head_dim=12, n_groups=4,
        ssm_state_size=24, conv_kernel=4, expand=2, chunk_size=8)
    # Attention every third layer from 0, MoE top-1 of 3 every third layer
    # from 2, a small dt rank and state.
    yield "jamba_periods", tf.JambaConfig(**COMMON, num_hidden_layers=6,
        attn_layer_period=3, attn_layer_offset=0, expert_layer_period=3,
        expert_layer_offset=2, num_experts=3, num_experts_per_tok=1,
        num_attention_heads=4, num_key_value_heads=1, intermediate_size=64,
        mamba_d_state=4, mamba_d_conv=3, mamba_expand=2, mamba_dt_rank=4,
        use_mamba_kernels=False)
    # Gated norm, 2 groups, every multiplier away from 1.
    yield "falconh1_multipliers", tf.FalconH1Config(**COMMON,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=12, intermediate_size=64, mamba_d_ssm=96, mamba_n_heads=6,
        mamba_d_head=16, mamba_n_groups=2, mamba_d_state=8, mamba_d_conv=4,
        mamba_chunk_size=8, mamba_rms_norm=True, mamba_norm_before_gate=False,
        key_multiplier=0.5, attention_in_multiplier=0.7,
        attention_out_multiplier=0.9, ssm_in_multiplier=1.1,
        ssm_out_multiplier=1.3, ssm_multipliers=[0.5, 0.6, 0.7, 0.8, 0.9],
        mlp_multipliers=[1.5, 0.25], embedding_multiplier=3.0,
        lm_head_multiplier=0.125)
    # Attention around two Mamba layers, 6 experts top-3, rope, multipliers.
    yield "granite_rope_experts", tf.GraniteMoeHybridConfig(**COMMON,
        num_hidden_layers=4,
        layer_types=["attention", "mamba", "mamba", "attention"],
        num_attention_heads=6, num_key_value_heads=2, intermediate_size=40,
        num_local_experts=6, num_experts_per_tok=3, shared_intermediate_size=56,
        position_embedding_type="rope", attention_multiplier=0.2,
        residual_multiplier=0.6, embedding_multiplier=1.5, logits_scaling=3.0,
        mamba_n_heads=6, mamba_d_head=16, mamba_n_groups=3, mamba_d_state=12,
        mamba_d_conv=4, mamba_expand=2, mamba_chunk_size=8)
    # One shared block reused by three hybrid layers, attention adapters.
    yield "zamba2_adapters", tf.Zamba2Config(**COMMON,
        num_hidden_layers=5,
        layers_block_type=["mamba", "hybrid", "mamba", "hybrid", "hybrid"],
        num_mem_blocks=1, num_attention_heads=4, num_key_value_heads=4,
        attention_head_dim=24, intermediate_size=64, mamba_d_state=8,
        mamba_d_conv=4, mamba_expand=2, mamba_headdim=12, n_mamba_heads=8,
        mamba_ngroups=2, chunk_size=8, adapter_rank=4,
        use_shared_attention_adapter=True, use_mem_rope=True)
    # A plain transformer with GQA, biases and tied embeddings.
    yield "llama_gqa_tied", tf.LlamaConfig(**dict(COMMON, tie_word_embeddings=True),
        num_hidden_layers=3, num_attention_heads=6, num_key_value_heads=2,
        intermediate_size=80, attention_bias=True)


def perturb(model, seed):
    """Redraws every parameter so that none is trivial (ones, zeros)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.copy_(torch.log(torch.rand(p.shape, generator=g) * 8 + 1))
            elif name.endswith("dt_bias") or name.endswith("dt_proj.bias"):
                p.copy_(torch.rand(p.shape, generator=g) * 2 - 3)
            elif "norm" in name and p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("D"):
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                scale = 1.0 / max(1, p.shape[-1]) ** 0.5
                p.copy_(torch.randn(p.shape, generator=g) * scale)


def main(out):
    report = {}
    for name, config in variants():
        try:
            cls = getattr(tf, type(config).__name__.replace("Config", "ForCausalLM"))
            torch.manual_seed(0)
            model = cls(config).eval().to(torch.float32)
            perturb(model, 4321)
            folder = os.path.join(out, name)
            model.save_pretrained(folder, safe_serialization=True)
            for extra in os.listdir(folder):
                if extra not in ("config.json", "model.safetensors"):
                    os.remove(os.path.join(folder, extra))
            g = torch.Generator().manual_seed(11)
            ids = torch.randint(3, config.vocab_size, (2, 29), generator=g)
            model.generation_config.eos_token_id = None
            with torch.no_grad():
                output = model(input_ids=ids, output_hidden_states=True)
                logits = output.logits.float()
                hidden = torch.stack(output.hidden_states).float()
                gen = model.generate(input_ids=ids, max_new_tokens=5,
                                     do_sample=False, pad_token_id=0)
                nocache = model.generate(input_ids=ids, max_new_tokens=5,
                                         do_sample=False, pad_token_id=0,
                                         use_cache=False)
            save_file({"input_ids": ids.contiguous(),
                       "logits": logits.contiguous(),
                       "generated": gen.to(torch.int64).contiguous(),
                       "generated_nocache": nocache.to(torch.int64).contiguous(),
                       "hidden_states": hidden.contiguous()},
                      os.path.join(folder, "golden.safetensors"))
            report[name] = dict(ok=True, new_tokens=gen[:, 29:].tolist(),
                                cache_consistent=bool((gen == nocache).all()))
            print("OK", name, flush=True)
        except Exception as e:  # keep going: report which variants failed
            report[name] = dict(ok=False, error=repr(e)[:400])
            print("FAIL", name, repr(e)[:400], flush=True)
            traceback.print_exc(limit=4)
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(dict(transformers=tf.__version__, torch=torch.__version__,
                       report=report), f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
