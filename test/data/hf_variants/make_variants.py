"""Tiny random checkpoints of configurations the goldens do not cover.

Each variant is built with transformers' own classes and saved with
save_pretrained, so its tensor names and shapes are exactly what
transformers writes. Only config.json and model.safetensors are kept; the
front-end tests check Braid's binding tables against them (no numerics).

Run on the GPU machine (transformers 5.17): python make_variants.py OUT_DIR
"""
import os
import sys

import torch
import transformers as tf


def variants():
    yield "llama_tiny", tf.LlamaConfig(
        vocab_size=128, hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        attention_bias=True, tie_word_embeddings=False), tf.LlamaForCausalLM
    yield "llama_tied", tf.LlamaConfig(
        vocab_size=128, hidden_size=32, intermediate_size=64, head_dim=16,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
        tie_word_embeddings=True), tf.LlamaForCausalLM
    # MoE layers ('E'), group-limited routing, explicit head_dim.
    yield "nemotronh_moe", tf.NemotronHConfig(
        vocab_size=128, hidden_size=32,
        layers_block_type=["linear_attention", "moe", "full_attention", "mlp"],
        mamba_num_heads=4, mamba_head_dim=16, n_groups=2, ssm_state_size=8,
        chunk_size=8, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
        intermediate_size=64, n_routed_experts=4, num_experts_per_tok=2,
        moe_intermediate_size=24, moe_shared_expert_intermediate_size=40,
        n_group=2, topk_group=1), tf.NemotronHForCausalLM
    # One shared block reused by three hybrid layers (tied weights), with
    # attention adapters and tied embeddings.
    yield "zamba2_shared", tf.Zamba2Config(
        vocab_size=128, hidden_size=32, intermediate_size=64,
        layers_block_type=["mamba", "hybrid", "mamba", "hybrid", "hybrid"],
        num_hidden_layers=5, num_mem_blocks=1, n_mamba_heads=4, mamba_d_state=8, chunk_size=8,
        num_attention_heads=4, adapter_rank=4,
        use_shared_attention_adapter=True, use_mem_rope=False,
        tie_word_embeddings=True), tf.Zamba2ForCausalLM
    # Dense layers (no experts), rope, every multiplier away from 1.
    yield "granite_dense_rope", tf.GraniteMoeHybridConfig(
        vocab_size=128, hidden_size=32, intermediate_size=64,
        num_hidden_layers=3,
        layer_types=["mamba", "attention", "mamba"], num_local_experts=0,
        shared_intermediate_size=48, position_embedding_type="rope",
        attention_multiplier=0.3, residual_multiplier=0.5,
        embedding_multiplier=2.0, logits_scaling=4.0, mamba_n_heads=4,
        mamba_d_state=8, mamba_chunk_size=8, mamba_n_groups=2,
        num_attention_heads=4, num_key_value_heads=2), tf.GraniteMoeHybridForCausalLM
    # Gated norm on, groups, d_ssm override, biases and multipliers.
    yield "falconh1_norm", tf.FalconH1Config(
        vocab_size=128, hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        mamba_d_ssm=48, mamba_n_heads=6, mamba_n_groups=2, mamba_d_state=8,
        mamba_chunk_size=8, mamba_rms_norm=True, mamba_norm_before_gate=False,
        mamba_proj_bias=True, projectors_bias=True, key_multiplier=0.5,
        attention_in_multiplier=0.7, attention_out_multiplier=0.9,
        ssm_in_multiplier=1.1, ssm_out_multiplier=1.3,
        ssm_multipliers=[0.5, 0.6, 0.7, 0.8, 0.9], mlp_multipliers=[1.5, 0.25],
        embedding_multiplier=3.0, lm_head_multiplier=0.125), tf.FalconH1ForCausalLM
    # Attention every 4th layer at offset 2, MoE on even layers, dt rank auto.
    yield "jamba_periods", tf.JambaConfig(
        vocab_size=128, hidden_size=32, intermediate_size=48,
        num_hidden_layers=8, num_attention_heads=4, num_key_value_heads=1,
        attn_layer_period=4, attn_layer_offset=2, expert_layer_period=2,
        expert_layer_offset=0, num_experts=3, num_experts_per_tok=2,
        mamba_d_state=4, mamba_dt_rank="auto", use_mamba_kernels=False), tf.JambaForCausalLM


def main(out):
    torch.manual_seed(0)
    for name, config, cls in variants():
        folder = os.path.join(out, name)
        model = cls(config)
        model.save_pretrained(folder, safe_serialization=True)
        for extra in os.listdir(folder):
            if extra not in ("config.json", "model.safetensors"):
                os.remove(os.path.join(folder, extra))
        print(name, "saved")


if __name__ == "__main__":
    main(sys.argv[1])
