// Gathers this ISA's kernels into its table (KT_NAME / KT_BITS set by the isa_*.c file).
const loom_ktable KT_NAME = {
    .width_bits = KT_BITS,
    .binop = k_binop, .binop_s = k_binop_s, .affine = k_affine, .axpy = k_axpy, .fill = k_fill,
    .unary = k_unary, .pow_s = k_pow_s, .leaky = k_leaky, .unary_bwd = k_unary_bwd,
    .sum = k_sum, .max_row = k_max_row,
    .softmax_row = k_softmax_row, .log_softmax_row = k_log_softmax_row,
    .softmax_bwd_row = k_softmax_bwd_row, .log_softmax_bwd_row = k_log_softmax_bwd_row,
    .ce_row = k_ce_row, .ce_bwd_row = k_ce_bwd_row,
    .ln_row = k_ln_row, .ln_bwd_row = k_ln_bwd_row, .rms_row = k_rms_row, .rms_bwd_row = k_rms_bwd_row,
    .exp_store_sum = k_exp_store_sum, .dot = k_dot, .attn_scores = k_attn_scores, .attn_ds = k_attn_ds,
    .adam = k_adam, .adam8_block = k_adam8_block, .sgd = k_sgd, .bce = k_bce, .bce_bwd = k_bce_bwd,
    .q4_rows = k_q4_rows, .q8_rows = k_q8_rows, .rand = k_rand,
    .bf16_gemv_dot = k_bf16_gemv_dot, .bf16_gemv_axpy = k_bf16_gemv_axpy,
};
