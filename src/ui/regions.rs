//! Where named regions of the window were drawn this frame, so that a lesson can outline
//! them. Each view records its rectangles with one [`record`] call as it draws; the lesson
//! player reads them back with [`rect`] once every view has drawn.
//!
//! Views record under a typed [`Region`] (the one registry in `data::lesson`) or, for a
//! parameter's field, under its key; a lesson's highlight names are looked up by name.

pub use crate::data::lesson::Region;
use egui::{Context, Id, Rect};

/// The rectangles recorded in one frame (pass).
#[derive(Clone, Default)]
struct Regions {
    pass: u64,
    rects: Vec<(&'static str, Rect)>,
}

fn id() -> Id {
    Id::unique("tripartite lesson regions")
}

/// Records that `region` was drawn at `rect` (screen points) in this frame.
pub fn record(ctx: &Context, region: Region, rect: Rect) {
    record_name(ctx, region.name(), rect);
}

/// Records that the field of parameter `key` was drawn at `rect` in this frame.
pub fn record_param(ctx: &Context, key: &'static str, rect: Rect) {
    record_name(ctx, key, rect);
}

fn record_name(ctx: &Context, name: &'static str, rect: Rect) {
    let pass = ctx.cumulative_pass_nr();
    ctx.data_mut(|data| {
        let regions = data.get_temp_mut_or_default::<Regions>(id());
        if regions.pass != pass {
            regions.rects.clear();
            regions.pass = pass;
        }
        regions.rects.retain(|(n, _)| *n != name);
        if rect.is_positive() {
            regions.rects.push((name, rect));
        }
    });
}

/// Where `name` was drawn in this frame (or, between frames, in the last one), if it was.
pub fn rect(ctx: &Context, name: &str) -> Option<Rect> {
    let pass = ctx.cumulative_pass_nr();
    ctx.data(|data| {
        data.get_temp::<Regions>(id())
            .filter(|r| r.pass + 1 >= pass)
            .and_then(|r| r.rects.iter().find(|(n, _)| *n == name).map(|(_, r)| *r))
    })
}

/// The region of one of the three attention matrices, from its title.
pub fn matrix(title: &str) -> Region {
    if title.starts_with("Difference") {
        Region::ADiff
    } else if title.contains("A_net") {
        Region::ANet
    } else {
        Region::ASoft
    }
}

/// The band of the calcium plot that the dashed Z_t segments cross (`normaliser` holds Z_t).
pub fn z_line(transform: &egui_plot::PlotTransform, normaliser: &[f64]) -> Rect {
    let finite = normaliser.iter().copied().filter(|z| z.is_finite());
    let low = finite.clone().fold(f64::INFINITY, f64::min);
    let high = finite.fold(f64::NEG_INFINITY, f64::max);
    let frame = *transform.frame();
    if !(low.is_finite() && high.is_finite()) {
        return Rect::NOTHING;
    }
    let (top, bottom) = (
        transform.position_from_point_y(high),
        transform.position_from_point_y(low),
    );
    Rect::from_x_y_ranges(frame.x_range(), (top - 8.0)..=(bottom + 8.0)).intersect(frame)
}
