#!/usr/bin/env python3
"""An independent, vectorised NumPy implementation of ../shared/spec/model.md, for timing the
Rust simulator against and for cross-checking its numbers.

    python3 tools/numpy_baseline.py dynamic  --npy DIR --m 65536 [--factored]
    python3 tools/numpy_baseline.py algebraic --npy DIR --m 100000

DIR holds q.npy, k.npy, v.npy and W.npy as written by `tripartite run --out DIR`, so both
implementations see the same inputs and the same projection. Prints JSON with the metrics and
the wall time. `--factored` uses the same exact factorisations as the Rust code (H = Σ v eᵀ,
Σ_i p_ij); without it, H and p are full d×m' matrices, as the spec writes them.
Positive features, bidirectional schedule, heterogeneity 0, defaults otherwise.
"""
import argparse, json, time
import numpy as np


def softmax_ref(q, k, v):
    D = q.shape[1]
    s = q @ k.T / np.sqrt(D)
    top = s.max(axis=1, keepdims=True)
    e = np.exp(s - top)
    z = e.sum(axis=1, keepdims=True)
    return e / z, (top + np.log(z)).ravel(), (e / z) @ v


def phi(W, x):
    m = W.shape[0]
    return np.exp(W @ x - x @ x / 2.0) / np.sqrt(m)


def metrics(a_net, c, y_net, a_soft, z, y_soft):
    tv = 0.5 * np.abs(a_net - a_soft).sum(axis=1).mean()
    return dict(
        attn_tv=float(tv),
        attn_max_abs=float(np.abs(a_net - a_soft).max()),
        output_rel_err=float(np.linalg.norm(y_net - y_soft) / np.linalg.norm(y_soft)),
        calcium_corr=float(np.corrcoef(c, z)[0, 1]),
        calcium_rel_err=float(np.mean(np.abs(c - z) / z)),
    )


def algebraic(q, k, v, W):
    D = q.shape[1]
    qs, ks = q / D ** 0.25, k / D ** 0.25
    m = W.shape[0]
    fq = np.exp(qs @ W.T - (qs * qs).sum(1, keepdims=True) / 2) / np.sqrt(m)
    fk = np.exp(ks @ W.T - (ks * ks).sum(1, keepdims=True) / 2) / np.sqrt(m)
    kern = fq @ fk.T
    c = kern.sum(axis=1)
    a = kern / c[:, None]
    return a, c, a @ v


def dynamic(q, k, v, W, factored, tau_n=5.0, tau_p=20.0, tau_c=100.0, t_write=50.0,
            t_read=400.0, dt=0.5, eta=0.02, c_min=1e-6):
    N, D = q.shape
    d = v.shape[1]
    m = W.shape[0]
    qs, ks = q / D ** 0.25, k / D ** 0.25
    u = np.zeros(D); h = np.zeros(m); y = np.zeros(d); g = np.zeros(m); c = 0.0
    e = np.zeros((N, m))
    if factored:
        p = np.zeros(m)
    else:
        H = np.zeros((d, m)); p = np.zeros((d, m))
    slots = [("w", t) for t in range(N)] + [("r", t) for t in range(N)]
    a_net = np.zeros((N, N)); c_out = np.zeros(N); y_out = np.zeros((N, d))
    for phase, tok in slots:
        write = phase == "w"
        s = ks[tok] if write else qs[tok]
        steps = int(round((t_write if write else t_read) / dt))
        for _ in range(steps):
            if write:
                y = v[tok].copy()
            f = phi(W, u)
            psi = 1.0 / max(c, c_min)
            gate = eta if write else 0.0
            if factored:
                hh = v.T @ (e @ h)
                dp = (g * h - p) / tau_p
                dc = (p.sum() - c) / tau_c
            else:
                hh = H @ h
                dp = (g[None, :] * h[None, :] - p) / tau_p
                dc = (p.sum() / d - c) / tau_c
                dH = gate * np.outer(y, h)
            dy = np.zeros(d) if write else (psi * hh - y) / tau_n
            if write:
                e[tok] += dt * eta * h
            g_new = g + dt * gate * h
            u = u + dt * (s - u) / tau_n
            h = h + dt * (f - h) / tau_n
            y = y + dt * dy
            if not factored:
                H = H + dt * dH
            p = p + dt * dp
            c = c + dt * dc
            g = g_new
        if not write:
            a_net[tok] = (e @ h) / max(c, c_min)
            c_out[tok] = c / (eta * t_write)
            y_out[tok] = y
    return a_net, c_out, y_out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["dynamic", "algebraic"])
    ap.add_argument("--npy", required=True)
    ap.add_argument("--factored", action="store_true")
    args = ap.parse_args()
    q, k, v, W = (np.load(f"{args.npy}/{n}.npy") for n in ("q", "k", "v", "W"))
    a_soft, logz, y_soft = softmax_ref(q, k, v)
    t0 = time.perf_counter()
    if args.mode == "algebraic":
        a, c, y = algebraic(q, k, v, W)
    else:
        a, c, y = dynamic(q, k, v, W, args.factored)
    wall = time.perf_counter() - t0
    out = metrics(a, c, y, a_soft, np.exp(logz), y_soft)
    out["wall_s"] = wall
    out["m"] = int(W.shape[0])
    out["factored"] = bool(args.factored)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
