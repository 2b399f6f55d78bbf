#!/usr/bin/env python3
"""PyTorch + transformers + trl 1.16 counterpart of `loom-bench posttrain`, fp32 on the CPU, random GPT-2-small-shaped
weights (GPT2Config() defaults, 124 M parameters, SDPA attention), dropout off (trl's disable_dropout_in_model):

- dpo: one DPO training step as trl 1.16's DPOTrainer._compute_loss takes it — batch 4 pairs (8 rows of 256 tokens: a
  64-token prompt shared by each pair, 192 completion tokens), the policy's forward over chosen + rejected rows with
  trl's fused LM head (add_fused_lm_head: log-probabilities of the completion tokens only, no [B, T, V] logits), the
  frozen reference's under torch.no_grad, the sigmoid loss (beta 0.1), backward, clipping at 1, fused AdamW (lr 1e-6).
- ppo: one PPO update on the same shape. trl 1.16 no longer ships PPOTrainer (not even under trl/experimental), so
  this is trl 0.x's experimental PPOTrainer update written out in plain PyTorch, with trl's own helpers (get_reward,
  first_true_indices, selective_log_softmax): rollout of 4 prompts of 192 tokens (`generate` with the KV cache, one
  batch, exactly 64 sampled tokens at temperature 0.7, the policy's log-probabilities from generate's scores as trl
  takes them), reference forward, value and reward models (GPT2ForSequenceClassification, one label) through
  get_reward, k1 KL penalty, GAE (gamma 1, lam 0.95), whitened advantages; then one PPO epoch on one mini-batch
  (policy + value forward, clipped policy and value losses, vf_coef 0.1, entropy, fused AdamW lr 3e-6 over both).

steps/s is the figure; tokens_per_s counts rows × 256 tokens per step; peak_rss_mb is the process's own (each bench
runs in its own process). loss_step0 is the first step's loss (DPO: log 2 = 0.693147 when policy = reference, on both
sides). --only a,b picks benches; --quick takes fewer steps; --lockstep (with --only BENCH) speaks bench/paired.py's
protocol."""
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# bench/pytorch/tokenizers.py would shadow the `tokenizers` package transformers needs.
here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]

BENCHES = ("dpo", "ppo")
PROMPT, SEQ, RESPONSE = 64, 256, 64
quick = "--quick" in sys.argv
only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
lockstep = "--lockstep" in sys.argv
if lockstep and (only is None or len(only) != 1):
    sys.exit("--lockstep needs --only with exactly one bench")

if only is None:
    passthrough = [a for a in sys.argv[1:] if a in ("--quick",)]
    for name in BENCHES:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--only", name, *passthrough], check=True)
    sys.exit(0)

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # trl.experimental.utils: known to be unstable
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from transformers import GenerationConfig, GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel  # noqa: E402
from trl.experimental.utils import first_true_indices, get_reward  # noqa: E402
from trl.trainer.utils import add_fused_lm_head, disable_dropout_in_model, selective_log_softmax  # noqa: E402

INVALID_LOGPROB = 1.0


def emit(bench, value, unit, **extra):
    print(json.dumps({"suite": "posttrain", "bench": bench, "config": "gpt2-small", "value": value, "unit": unit,
                      "impl": "torch-sdpa", "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      **extra}, sort_keys=True), flush=True)


def timed(body, steps):
    """Median seconds of `steps` calls (bench/paired.py drives them under --lockstep)."""
    if lockstep:
        print("ready", flush=True)
        samples = []
        for line in sys.stdin:
            if line.strip() != "step":
                break
            t0 = time.perf_counter()
            body()
            ms = (time.perf_counter() - t0) * 1000
            samples.append(ms / 1000)
            print(f"step {ms}", flush=True)
        if not samples:
            sys.exit("lockstep: stopped before any step")
        return statistics.median(samples)
    samples = []
    for _ in range(steps):
        t0 = time.perf_counter()
        body()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def gpt2(seed, cls=GPT2LMHeadModel, **fields):
    torch.manual_seed(seed)
    model = cls(GPT2Config(attn_implementation="sdpa", **fields))
    disable_dropout_in_model(model)
    return model


def random_ids(rows, length, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 50256, (rows, length), generator=g)  # below 50256: no EOS / pad inside


def dpo():
    pairs, beta = 4, 0.1
    policy = gpt2(0)
    ref = copy.deepcopy(policy).eval().requires_grad_(False)
    add_fused_lm_head(policy)
    add_fused_lm_head(ref)
    prompts = random_ids(pairs, PROMPT, 1)
    ids = torch.cat([prompts.repeat(2, 1), random_ids(2 * pairs, SEQ - PROMPT, 2)], dim=1)
    mask = torch.ones_like(ids)
    completion_mask = torch.zeros_like(ids)
    completion_mask[:, PROMPT:] = 1
    labels = ids.masked_fill(completion_mask == 0, -100)
    scored = SEQ - 1
    params = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-6, weight_decay=0.0, fused=True)
    first = []

    def step():
        kwargs = dict(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False, fused_lm_head=True)
        logps = policy(**kwargs).log_probs[:, -scored:].sum(dim=1)
        with torch.no_grad():
            ref_logps = ref(**kwargs).log_probs[:, -scored:].sum(dim=1)
        chosen, rejected = logps.chunk(2)
        ref_chosen, ref_rejected = ref_logps.chunk(2)
        loss = -F.logsigmoid(beta * ((chosen - ref_chosen) - (rejected - ref_rejected))).mean()
        if not first:
            first.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    step()
    s = timed(step, 2 if quick else 5)
    emit("dpo", 1 / s, "steps/s", pairs=pairs, seq=SEQ, tokens_per_s=2 * pairs * SEQ / s, seconds_per_step=s,
         loss_step0=first[0])


def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum()


def masked_whiten(x, mask):
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    var = var * mask.sum() / (mask.sum() - 1)  # unbiased, as trl
    return (x - mean) * torch.rsqrt(var + 1e-8)  # trl's shift_mean=True: the mean is not added back


def ppo():
    batch, pad = 4, 50256
    temperature, kl_coef, gamma, lam, cliprange, cliprange_value, vf_coef = 0.7, 0.05, 1.0, 0.95, 0.2, 0.2, 0.1
    policy = gpt2(0)
    ref = copy.deepcopy(policy).eval().requires_grad_(False)
    value_model = gpt2(1, GPT2ForSequenceClassification, num_labels=1, pad_token_id=pad)
    reward_model = gpt2(2, GPT2ForSequenceClassification, num_labels=1, pad_token_id=pad).eval().requires_grad_(False)
    queries = random_ids(batch, SEQ - RESPONSE, 1)
    context = queries.shape[1]
    gen_config = GenerationConfig(max_new_tokens=RESPONSE, min_new_tokens=RESPONSE, temperature=temperature + 1e-7,
                                  top_k=0, top_p=1.0, do_sample=True, eos_token_id=None, pad_token_id=pad,
                                  return_dict_in_generate=True, output_scores=True)
    params = [p for m in (policy, value_model) for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=3e-6, weight_decay=0.0, fused=True)
    first = []

    def forward(model, query_responses):
        attention_mask = query_responses != pad
        position_ids = attention_mask.cumsum(1) - attention_mask.long()
        input_ids = torch.masked_fill(query_responses, ~attention_mask, 0)
        return model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                     return_dict=True, output_hidden_states=True, use_cache=False)

    def step():
        with torch.no_grad():
            # trl's batch_generation: one batch, KV cache, the policy's log-probabilities from generate's scores.
            attention_mask = queries != pad
            out = policy.generate(input_ids=torch.masked_fill(queries, ~attention_mask, 0),
                                  attention_mask=attention_mask, generation_config=gen_config)
            query_responses = torch.cat((queries, out.sequences[:, context:]), dim=1)
            responses = query_responses[:, context:]
            logprobs = selective_log_softmax(torch.stack(out.scores, 1), responses)
            ref_logits = forward(ref, query_responses).logits[:, context - 1:-1] / (temperature + 1e-7)
            ref_logprobs = selective_log_softmax(ref_logits, responses)
            sequence_lengths = first_true_indices(responses == pad) - 1
            full_value, _, _ = get_reward(value_model, query_responses, pad, context)
            values = full_value[:, context - 1:-1].squeeze(-1)
            _, scores, _ = get_reward(reward_model, query_responses, pad, context)
            response_idxs = torch.arange(responses.shape[1]).repeat(batch, 1)
            padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
            logprobs = torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)
            ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, INVALID_LOGPROB)
            lengths_p1 = sequence_lengths + 1
            padding_mask_p1 = response_idxs > lengths_p1.unsqueeze(1)
            values = torch.masked_fill(values, padding_mask_p1, 0)
            rewards = -kl_coef * (logprobs - ref_logprobs)
            end = torch.where(lengths_p1 < rewards.size(1), lengths_p1, sequence_lengths)
            rewards[torch.arange(batch), end] += scores
            lastgaelam, reversed_advantages = 0, []
            for t in reversed(range(RESPONSE)):
                nextvalues = values[:, t + 1] if t < RESPONSE - 1 else 0.0
                delta = rewards[:, t] + gamma * nextvalues - values[:, t]
                lastgaelam = delta + gamma * lam * lastgaelam
                reversed_advantages.append(lastgaelam)
            advantages = torch.stack(reversed_advantages[::-1], dim=1)
            returns = advantages + values
            advantages = torch.masked_fill(masked_whiten(advantages, ~padding_mask), padding_mask, 0)
        # One PPO epoch, one mini-batch of all 4 rows (trl's PolicyAndValueWrapper forward).
        critic = getattr(value_model, value_model.base_model_prefix)
        attention_mask = query_responses != pad
        vpred_all = value_model.score(critic(input_ids=torch.masked_fill(query_responses, ~attention_mask, 0),
                                             attention_mask=attention_mask, use_cache=False).last_hidden_state)
        logits = forward(policy, query_responses).logits[:, context - 1:-1] / (temperature + 1e-7)
        new_logprobs = torch.masked_fill(selective_log_softmax(logits, responses), padding_mask, INVALID_LOGPROB)
        vpred = torch.masked_fill(vpred_all[:, context - 1:-1].squeeze(-1), padding_mask_p1, 0)
        vpredclipped = torch.clamp(vpred, values - cliprange_value, values + cliprange_value)
        vf_losses1, vf_losses2 = (vpred - returns) ** 2, (vpredclipped - returns) ** 2
        vf_loss = 0.5 * masked_mean(torch.max(vf_losses1, vf_losses2), ~padding_mask_p1)
        ratio = torch.exp(new_logprobs - logprobs)
        pg_losses = torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange))
        pg_loss = masked_mean(pg_losses, ~padding_mask)
        loss = pg_loss + vf_coef * vf_loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():  # trl's logged statistics
            prob_dist = torch.softmax(logits, dim=-1)
            entropy = torch.logsumexp(logits, dim=-1) - torch.sum(prob_dist * logits, dim=-1)
            _ = entropy.mean().item(), (0.5 * (new_logprobs - logprobs) ** 2).mean().item()
        if not first:
            first.append(loss.item())

    step()
    step()
    s = timed(step, 2 if quick else 5)
    emit("ppo", 1 / s, "steps/s", batch=batch, prompt=SEQ - RESPONSE, response=RESPONSE,
         tokens_per_s=batch * SEQ / s, seconds_per_step=s, loss_step0=first[0])


for name in only:
    if name == "dpo":
        dpo()
    elif name == "ppo":
        ppo()
    else:
        sys.exit(f"unknown bench {name} (benches: {', '.join(BENCHES)})")
