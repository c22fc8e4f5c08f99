//! Scalar numerics of the forward pass: the activations (GELU via an exact erf, tanh GELU,
//! ReLU). The attention softmax is the model's own, [`crate::model::softmax`].

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Activation {
    /// Exact GELU, x·Φ(x) with Φ via erf (HF "gelu").
    Gelu,
    /// Tanh approximation (HF "gelu_new" / "gelu_pytorch_tanh").
    GeluTanh,
    Relu,
}

impl Activation {
    pub(super) fn from_name(name: &str) -> Option<Self> {
        match name {
            "gelu" => Some(Self::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" => Some(Self::GeluTanh),
            "relu" => Some(Self::Relu),
            _ => None,
        }
    }

    pub(super) fn apply(self, x: f32) -> f32 {
        match self {
            Self::Gelu => gelu(x),
            Self::GeluTanh => gelu_tanh(x),
            Self::Relu => x.max(0.0),
        }
    }
}

/// Exact GELU as HuggingFace "gelu": `x·½(1 + erf(x/√2))`, evaluated in f64.
pub fn gelu(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + erf(x * std::f64::consts::FRAC_1_SQRT_2))) as f32
}

/// Tanh-approximated GELU (HF "gelu_new" / "gelu_pytorch_tanh").
pub(super) fn gelu_tanh(x: f32) -> f32 {
    let x = x as f64;
    let c = (2.0 / std::f64::consts::PI).sqrt();
    (0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())) as f32
}

/// The error function, accurate to about one ulp in f64.
///
/// Port of FreeBSD `s_erf.c` (Copyright (C) 1993 by Sun Microsystems, Inc.; "Permission to use,
/// copy, modify, and distribute this software is freely granted, provided that this notice is
/// preserved"), via the Rust `libm` crate (MIT). The constants keep their published digits.
#[allow(clippy::excessive_precision)]
pub fn erf(x: f64) -> f64 {
    pub(super) const ERX: f64 = 8.45062911510467529297e-01;
    pub(super) const EFX8: f64 = 1.02703333676410069053e+00;
    pub(super) const PP0: f64 = 1.28379167095512558561e-01;
    pub(super) const PP1: f64 = -3.25042107247001499370e-01;
    pub(super) const PP2: f64 = -2.84817495755985104766e-02;
    pub(super) const PP3: f64 = -5.77027029648944159157e-03;
    pub(super) const PP4: f64 = -2.37630166566501626084e-05;
    pub(super) const QQ1: f64 = 3.97917223959155352819e-01;
    pub(super) const QQ2: f64 = 6.50222499887672944485e-02;
    pub(super) const QQ3: f64 = 5.08130628187576562776e-03;
    pub(super) const QQ4: f64 = 1.32494738004321644526e-04;
    pub(super) const QQ5: f64 = -3.96022827877536812320e-06;
    pub(super) const PA0: f64 = -2.36211856075265944077e-03;
    pub(super) const PA1: f64 = 4.14856118683748331666e-01;
    pub(super) const PA2: f64 = -3.72207876035701323847e-01;
    pub(super) const PA3: f64 = 3.18346619901161753674e-01;
    pub(super) const PA4: f64 = -1.10894694282396677476e-01;
    pub(super) const PA5: f64 = 3.54783043256182359371e-02;
    pub(super) const PA6: f64 = -2.16637559486879084300e-03;
    pub(super) const QA1: f64 = 1.06420880400844228286e-01;
    pub(super) const QA2: f64 = 5.40397917702171048937e-01;
    pub(super) const QA3: f64 = 7.18286544141962662868e-02;
    pub(super) const QA4: f64 = 1.26171219808761642112e-01;
    pub(super) const QA5: f64 = 1.36370839120290507362e-02;
    pub(super) const QA6: f64 = 1.19844998467991074170e-02;
    pub(super) const RA0: f64 = -9.86494403484714822705e-03;
    pub(super) const RA1: f64 = -6.93858572707181764372e-01;
    pub(super) const RA2: f64 = -1.05586262253232909814e+01;
    pub(super) const RA3: f64 = -6.23753324503260060396e+01;
    pub(super) const RA4: f64 = -1.62396669462573470355e+02;
    pub(super) const RA5: f64 = -1.84605092906711035994e+02;
    pub(super) const RA6: f64 = -8.12874355063065934246e+01;
    pub(super) const RA7: f64 = -9.81432934416914548592e+00;
    pub(super) const SA1: f64 = 1.96512716674392571292e+01;
    pub(super) const SA2: f64 = 1.37657754143519042600e+02;
    pub(super) const SA3: f64 = 4.34565877475229228821e+02;
    pub(super) const SA4: f64 = 6.45387271733267880336e+02;
    pub(super) const SA5: f64 = 4.29008140027567833386e+02;
    pub(super) const SA6: f64 = 1.08635005541779435134e+02;
    pub(super) const SA7: f64 = 6.57024977031928170135e+00;
    pub(super) const SA8: f64 = -6.04244152148580987438e-02;
    pub(super) const RB0: f64 = -9.86494292470009928597e-03;
    pub(super) const RB1: f64 = -7.99283237680523006574e-01;
    pub(super) const RB2: f64 = -1.77579549177547519889e+01;
    pub(super) const RB3: f64 = -1.60636384855821916062e+02;
    pub(super) const RB4: f64 = -6.37566443368389627722e+02;
    pub(super) const RB5: f64 = -1.02509513161107724954e+03;
    pub(super) const RB6: f64 = -4.83519191608651397019e+02;
    pub(super) const SB1: f64 = 3.03380607434824582924e+01;
    pub(super) const SB2: f64 = 3.25792512996573918826e+02;
    pub(super) const SB3: f64 = 1.53672958608443695994e+03;
    pub(super) const SB4: f64 = 3.19985821950859553908e+03;
    pub(super) const SB5: f64 = 2.55305040643316442583e+03;
    pub(super) const SB6: f64 = 4.74528541206955367215e+02;
    pub(super) const SB7: f64 = -2.24409524465858183362e+01;

    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let sign = if x.is_sign_negative() { -1.0 } else { 1.0 };
    if ax < 0.84375 {
        if ax < 3.725290298461914e-9 {
            // |x| < 2**-28
            return 0.125 * (8.0 * x + EFX8 * x);
        }
        let z = x * x;
        let r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
        let s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
        return x + x * (r / s);
    }
    if ax < 1.25 {
        let s = ax - 1.0;
        let p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
        let q = 1.0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
        return sign * (ERX + p / q);
    }
    if ax >= 6.0 {
        return sign * (1.0 - f64::MIN_POSITIVE);
    }
    let s = 1.0 / (ax * ax);
    let (r, big_s) = if ax < 1.0 / 0.35 {
        (
            RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7)))))),
            1.0 + s
                * (SA1
                    + s * (SA2
                        + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8))))))),
        )
    } else {
        (
            RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6))))),
            1.0 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7)))))),
        )
    };
    // z = ax with the low 32 bits of the mantissa cleared, for an accurate exp(-x²).
    let z = f64::from_bits(ax.to_bits() & 0xffff_ffff_0000_0000);
    let erfc = (-z * z - 0.5625).exp() * ((z - ax) * (z + ax) + r / big_s).exp() / ax;
    sign * (1.0 - erfc)
}
