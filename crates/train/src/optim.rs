//! fastai's one-cycle schedule and fastai's `Adam` (decoupled weight decay = AdamW).

use tch::Tensor;

/// fastai `SchedCos(start, end)(pos)`.
fn sched_cos(start: f64, end: f64, pos: f64) -> f64 {
    start + (1.0 + (std::f64::consts::PI * (1.0 - pos)).cos()) * (end - start) / 2.0
}

/// fastai `combined_cos(pct, start, middle, end)` evaluated at `pos` in `[0, 1]`.
///
/// Replicates fastai's `combine_scheds`, including its float32 arithmetic: the phase
/// boundaries live in a float32 tensor, so the phase-relative position is computed in f32.
fn combined_cos(pct: f64, start: f64, middle: f64, end: f64, pos: f64) -> f64 {
    if pos >= 1.0 {
        return sched_cos(middle, end, 1.0);
    }
    let p = pos as f32;
    let bounds = [0f32, pct as f32, 1f32];
    if p >= bounds[1] {
        let actual = (p - bounds[1]) / (bounds[2] - bounds[1]);
        sched_cos(middle, end, actual as f64)
    } else {
        let actual = (p - bounds[0]) / (bounds[1] - bounds[0]);
        sched_cos(start, middle, actual as f64)
    }
}

/// fastai's `fit_one_cycle` schedule over `total_steps` optimizer steps.
///
/// Step `s` (0-based) uses position `s / total_steps` (fastai's `pct_train` before the batch).
/// lr: cosine from `lr_max/div` to `lr_max` over the first `pct_start` of training, then
/// cosine from `lr_max` to `lr_max/div_final`. Momentum (Adam beta1): cosine `moms.0 → moms.1`
/// then `moms.1 → moms.2`.
#[derive(Clone, Debug, PartialEq)]
pub struct OneCycle {
    /// Peak learning rate.
    pub lr_max: f64,
    /// Number of optimizer steps (`epochs * batches_per_epoch`).
    pub total_steps: usize,
    /// Fraction of steps in the warm-up phase (fastai: 0.25).
    pub pct_start: f64,
    /// Initial lr is `lr_max / div` (fastai: 25).
    pub div: f64,
    /// Final lr is `lr_max / div_final` (fastai: 1e5).
    pub div_final: f64,
    /// Momentum (start, middle, end) (fastai: 0.95, 0.85, 0.95).
    pub moms: (f64, f64, f64),
}

impl OneCycle {
    /// fastai defaults: `pct_start 0.25, div 25, div_final 1e5, moms (0.95, 0.85, 0.95)`.
    pub fn new(lr_max: f64, total_steps: usize) -> OneCycle {
        OneCycle {
            lr_max,
            total_steps,
            pct_start: 0.25,
            div: 25.0,
            div_final: 1e5,
            moms: (0.95, 0.85, 0.95),
        }
    }

    fn pos(&self, step: usize) -> f64 {
        if self.total_steps == 0 {
            1.0
        } else {
            step as f64 / self.total_steps as f64
        }
    }

    /// Learning rate for (0-based) step `step`.
    pub fn lr_at(&self, step: usize) -> f64 {
        combined_cos(
            self.pct_start,
            self.lr_max / self.div,
            self.lr_max,
            self.lr_max / self.div_final,
            self.pos(step),
        )
    }

    /// Momentum (Adam beta1) for (0-based) step `step`.
    pub fn mom_at(&self, step: usize) -> f64 {
        let (a, b, c) = self.moms;
        combined_cos(self.pct_start, a, b, c, self.pos(step))
    }
}

struct ParamState {
    param: Tensor,
    do_wd: bool,
    grad_avg: Tensor,
    sqr_avg: Tensor,
    step: i32,
}

/// fastai's `Adam(decouple_wd=True)` (i.e. AdamW) over a list of parameters.
///
/// Per step, for every parameter with a gradient (fastai's callback order):
/// `p *= 1 - lr*wd` (only when `do_wd`); `m = β1 m + (1-β1) g`; `v = β2 v + (1-β2) g²`;
/// `step += 1`; `p -= lr / (1-β1^step) · m / (sqrt(v / (1-β2^step)) + eps)`.
/// Note that β1 is the *current* (scheduled) momentum, also inside the debias term, as in fastai.
pub struct AdamW {
    /// β2 (fastai `sqr_mom`, 0.99).
    pub beta2: f64,
    /// ε (fastai 1e-5).
    pub eps: f64,
    /// Decoupled weight decay (fastai 0.01).
    pub wd: f64,
    state: Vec<ParamState>,
}

impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdamW")
            .field("beta2", &self.beta2)
            .field("eps", &self.eps)
            .field("wd", &self.wd)
            .field("n_params", &self.state.len())
            .finish()
    }
}

impl AdamW {
    /// Optimizer over `params` (`(tensor, apply_weight_decay)` pairs) with fastai's
    /// defaults β2 = 0.99, ε = 1e-5.
    pub fn new(params: Vec<(Tensor, bool)>, wd: f64) -> AdamW {
        let state = params
            .into_iter()
            .map(|(param, do_wd)| ParamState {
                grad_avg: param.zeros_like().detach(),
                sqr_avg: param.zeros_like().detach(),
                param,
                do_wd,
                step: 0,
            })
            .collect();
        AdamW {
            beta2: 0.99,
            eps: 1e-5,
            wd,
            state,
        }
    }

    /// The first and second moments of every parameter, in order.
    #[cfg(test)]
    pub(crate) fn moments(&self) -> impl Iterator<Item = (&Tensor, &Tensor)> {
        self.state.iter().map(|s| (&s.grad_avg, &s.sqr_avg))
    }

    /// Zeroes the gradients of all parameters.
    pub fn zero_grad(&mut self) {
        for s in &mut self.state {
            let mut g = s.param.grad();
            if g.defined() {
                let _ = g.detach_();
                let _ = g.zero_();
            }
        }
    }

    /// One update with learning rate `lr` and β1 = `mom`.
    pub fn step(&mut self, lr: f64, mom: f64) {
        let (b2, eps, wd) = (self.beta2, self.eps, self.wd);
        tch::no_grad(|| {
            for s in &mut self.state {
                let g = s.param.grad();
                if !g.defined() {
                    continue;
                }
                if s.do_wd && wd != 0.0 {
                    let _ = s.param.g_mul_scalar_(1.0 - lr * wd);
                }
                // In place, one pass each (as PyTorch's AdamW): m = lerp(m, g, 1-β1) and
                // v = lerp(v, g², 1-β2) are fastai's `m·β1 + g·(1-β1)`, `v·β2 + g²·(1-β2)`.
                let _ = s.grad_avg.f_lerp_(&g, 1.0 - mom);
                let _ = s.sqr_avg.f_lerp_(&g.square(), 1.0 - b2);
                s.step += 1;
                let st = s.step as f64;
                let debias1 = (1.0 - mom) * (1.0 - mom.powf(st)) / (1.0 - mom);
                let debias2 = (1.0 - b2) * (1.0 - b2.powf(st)) / (1.0 - b2);
                // p += m / d with d = -(sqrt(v / debias2) + eps) · debias1 / lr, i.e.
                // p -= lr / debias1 · m / (sqrt(v / debias2) + eps)
                let mut denom = s.sqr_avg.g_div_scalar(debias2);
                let _ = denom.sqrt_();
                let _ = denom.g_add_scalar_(eps);
                let _ = denom.g_mul_scalar_(-debias1 / lr);
                let _ = s.param.addcdiv_(&s.grad_avg, &denom);
            }
        });
    }
}
