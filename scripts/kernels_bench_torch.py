# PyTorch side of scripts/kernels_bench.c (same shapes, aten-level kernels, medians).
import os, time, statistics, torch
if os.environ.get("LOOM_NUM_THREADS"): torch.set_num_threads(int(os.environ["LOOM_NUM_THREADS"]))
torch.manual_seed(0)
print("torch", torch.__version__, "threads", torch.get_num_threads())

def bench(name, reps, fn):
    for _ in range(3): fn()
    ts = []
    for _ in range(reps):
        a = time.perf_counter(); fn(); ts.append(time.perf_counter() - a)
    print(f"{name:34s} {statistics.median(ts)*1e3:9.3f} ms")

A = torch.ops.aten
x = torch.rand(12288, 256) * 10 - 5; gy = torch.rand_like(x) * 2 - 1
def sm():
    y = A._softmax(x, -1, False); A._softmax_backward_data(gy, y, -1, torch.float32)
bench("softmax [12288,256] fwd+bwd", 41, sm)

x = torch.rand(2048, 384) * 4 - 2; w = torch.rand(384) + .5; b = torch.rand(384) - .5; gy = torch.rand_like(x) - .5
def ln():
    y, m, r = A.native_layer_norm(x, [384], w, b, 1e-5)
    A.native_layer_norm_backward(gy, x, [384], m, r, w, b, [True, True, True])
bench("layernorm [2048,384] fwd+bwd", 41, ln)

x = torch.rand(2048, 1536) * 8 - 4; gy = torch.rand_like(x) - .5
bench("gelu(erf) [2048,1536] fwd", 41, lambda: A.gelu(x))
bench("gelu(erf) [2048,1536] bwd", 41, lambda: A.gelu_backward(gy, x))
bench("gelu(tanh) [2048,1536] fwd", 41, lambda: A.gelu(x, approximate="tanh"))
bench("gelu(tanh) [2048,1536] bwd", 41, lambda: A.gelu_backward(gy, x, approximate="tanh"))

for R, C in [(2048, 65), (512, 50257)]:
    x = torch.rand(R, C) * 10 - 5; t = torch.randint(0, C, (R,))
    def ce():
        lp = A._log_softmax(x, 1, False)
        loss, tw = A.nll_loss_forward(lp, t, None, 1, -100)
        g = A.nll_loss_backward(torch.ones(()), lp, t, None, 1, -100, tw)
        A._log_softmax_backward_data(g, lp, 1, torch.float32)
    bench(f"cross-entropy [{R},{C}] fwd+bwd", 41, ce)

p = torch.nn.Parameter(torch.rand(10_000_000) * 2 - 1); p.grad = torch.rand_like(p) - .5
opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.01)
bench("adamw 10M params", 21, lambda: opt.step())
