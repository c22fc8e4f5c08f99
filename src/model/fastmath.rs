//! A branch-free exponential that the compiler can vectorise.
//!
//! The dynamic mode evaluates m' exponentials every Euler step, which dominates its cost with
//! libm's scalar `exp`. This version reduces x = k·ln2 + r with |r| ≤ ln2/2 (Cody–Waite),
//! evaluates exp(r) by a degree-13 Taylor polynomial (truncation < 1e-17 relative) and scales
//! by 2^k through the exponent bits. Relative error against `f64::exp` stays below 1e-15 on
//! [−708, 709]; below −708 it returns 0 (the subnormal range is flushed), above 709.78 +∞.
//!
//! It also holds the run-time choice of instruction set for the hot loops ([`with_fast_isa`]):
//! the crate is built for the x86-64 baseline, so it runs on any x86-64 CPU, and the loops are
//! compiled again with AVX2 and with AVX-512 for the CPUs that have them. Rust never contracts
//! a*b+c into FMA on its own (not even where AVX-512 brings FMA along), so every version gives
//! the same results, bit for bit.

use std::sync::atomic::{AtomicU8, Ordering};

const LOG2_E: f64 = std::f64::consts::LOG2_E;
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5·2^52: adding it rounds to an integer held in the low mantissa bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;

/// e^x, vectorisable. See the module comment for its accuracy.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let clamped = x.clamp(-708.0, 709.0);
    let shifted = clamped.mul_add_free(LOG2_E, SHIFTER);
    let k = shifted - SHIFTER;
    let r = (clamped - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    let k_int = (shifted.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let scale = f64::from_bits(((k_int + 1023) << 52) as u64);
    let value = p * scale;
    let value = if x < -708.0 { 0.0 } else { value };
    if x > 709.78 { f64::INFINITY } else { value }
}

/// Plain multiply-add (no fused rounding, so results do not depend on the CPU's FMA).
trait MulAddFree {
    fn mul_add_free(self, a: f64, b: f64) -> f64;
}

impl MulAddFree for f64 {
    #[inline(always)]
    fn mul_add_free(self, a: f64, b: f64) -> f64 {
        self * a + b
    }
}

/// Replaces every element x of `values` by e^x.
pub fn exp_in_place(values: &mut [f64]) {
    with_fast_isa(
        #[inline(always)]
        || {
            for value in values.iter_mut() {
                *value = exp(*value);
            }
        },
    )
}

/// Which version of the hot loops runs: not chosen yet, baseline, AVX2, AVX-512.
static ISA: AtomicU8 = AtomicU8::new(UNCHOSEN);
const UNCHOSEN: u8 = 0;
const BASELINE: u8 = 1;
const AVX2: u8 = 2;
const AVX512: u8 = 3;

/// A version of the hot loops, for tests that compare them.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Baseline,
    Avx2,
    Avx512,
}

/// The version in force: the CPU's best, unless the environment (read once) caps it —
/// `TRIPARTITE_FORCE_BASELINE=1` for the baseline, `TRIPARTITE_FORCE_AVX2=1` for AVX2 at most —
/// or [`force_isa`] chose one.
fn isa() -> u8 {
    match ISA.load(Ordering::Relaxed) {
        UNCHOSEN => {
            let set = |name: &str| std::env::var_os(name).is_some_and(|v| v == "1");
            let cap = if set("TRIPARTITE_FORCE_BASELINE") {
                BASELINE
            } else if set("TRIPARTITE_FORCE_AVX2") {
                AVX2
            } else {
                AVX512
            };
            let isa = cap.min(cpu_best());
            ISA.store(isa, Ordering::Relaxed);
            isa
        }
        isa => isa,
    }
}

/// Whether the hot loops run a version compiled for AVX2 (or for AVX-512, which includes it).
pub fn uses_avx2() -> bool {
    isa() >= AVX2
}

/// Whether the hot loops run their AVX-512 version.
pub fn uses_avx512() -> bool {
    isa() == AVX512
}

/// Forces the baseline loops (`true`) or goes back to the CPU's best (`false`), for tests that
/// compare the two versions.
#[doc(hidden)]
pub fn force_baseline(baseline: bool) {
    ISA.store(
        if baseline { BASELINE } else { cpu_best() },
        Ordering::Relaxed,
    );
}

/// Forces one version, or the best the CPU has below it. Returns whether the CPU has it.
#[doc(hidden)]
pub fn force_isa(isa: Isa) -> bool {
    let wanted = match isa {
        Isa::Baseline => BASELINE,
        Isa::Avx2 => AVX2,
        Isa::Avx512 => AVX512,
    };
    let best = cpu_best();
    ISA.store(wanted.min(best), Ordering::Relaxed);
    wanted <= best
}

/// The best version this CPU runs.
fn cpu_best() -> u8 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx2")
        {
            AVX512
        } else if std::arch::is_x86_feature_detected!("avx2") {
            AVX2
        } else {
            BASELINE
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        BASELINE
    }
}

/// Runs `body` compiled for AVX-512 or AVX2 when the CPU has them (see [`isa`]), else for the
/// baseline. `body` must be an `#[inline(always)]` closure whose callees in the hot loop are
/// `#[inline(always)]` too, so that the whole loop is compiled inside the chosen function.
/// Every version does the same operations in the same order on each value (the loops keep
/// fixed accumulator lanes and FMA is never used), so they give the same bits.
#[inline(always)]
pub fn with_fast_isa<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match isa() {
        // SAFETY: the CPU has AVX-512 F and DQ and AVX2 (checked by `cpu_best`).
        AVX512 => return unsafe { with_avx512(body) },
        // SAFETY: the CPU has AVX2 (checked by `cpu_best`).
        AVX2 => return unsafe { with_avx2(body) },
        _ => {}
    }
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn with_avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
fn with_avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_libm_to_1e15_relative() {
        let mut worst: f64 = 0.0;
        let mut x = -707.9;
        while x < 709.0 {
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(800.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
    }
}
