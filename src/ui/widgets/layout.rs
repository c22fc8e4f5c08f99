//! The Live tab's layout: tiles (egui_tiles) for the graph, the calcium traces, the three
//! attention matrices and the metrics. Each tile keeps its size whatever else is on screen; the
//! user drags a tile's edge to resize it or its title to move it, and double-clicks a title (or
//! presses its Fill button) to fill the page with that tile until Esc or a second double-click.
//! The arrangement is saved with the session; View ▸ Reset layout restores the default.

use crate::data::lesson::Region;
use egui::Rect;
use egui_tiles::{Behavior, SimplificationOptions, Tile, TileId, Tiles, Tree, UiResponse};
use serde::{Deserialize, Serialize};

/// Height of a tile's title bar (points).
const TITLE_HEIGHT: f32 = 20.0;
/// Gap between tiles (points): wide enough to grab for a resize.
const GAP: f32 = 6.0;

/// One view of the Live page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LivePane {
    Graph,
    Traces,
    Matrices,
    Metrics,
}

impl LivePane {
    pub const ALL: [LivePane; 4] = [
        LivePane::Graph,
        LivePane::Traces,
        LivePane::Matrices,
        LivePane::Metrics,
    ];

    /// The tile that holds a lesson's region (none for the run controls, in the header).
    pub fn holding(region: Region) -> Option<LivePane> {
        Some(match region {
            Region::Graph | Region::Astrocyte => LivePane::Graph,
            Region::CalciumPlot | Region::ZLine => LivePane::Traces,
            Region::ASoft | Region::ANet | Region::ADiff => LivePane::Matrices,
            Region::Metrics => LivePane::Metrics,
            Region::Controls => return None,
        })
    }

    /// The tile's title (also its accessible name, and the name a test finds it by).
    pub fn title(self) -> &'static str {
        match self {
            LivePane::Graph => "Network: neurons and one astrocyte",
            LivePane::Traces => "Calcium vs softmax normaliser",
            LivePane::Matrices => "Attention: transformer vs neurons + astrocyte",
            LivePane::Metrics => "Metrics",
        }
    }

    /// The tile's title while it shows a whole layer live (one astrocyte per head), where the
    /// one-head titles would be untrue.
    pub fn layer_title(self) -> &'static str {
        match self {
            LivePane::Graph => "Layer: every head, each with its own astrocyte",
            LivePane::Traces => "Every astrocyte's calcium vs its own Z_t",
            LivePane::Matrices => "One head's attention, and the layer output",
            LivePane::Metrics => "Metrics",
        }
    }
}

/// The tiles' arrangement (saved with the session) and the maximised tile (not saved).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveLayout {
    pub tree: Tree<LivePane>,
    /// The tile that fills the page, if one does.
    #[serde(skip)]
    pub maximised: Option<LivePane>,
    /// The arrangement of a presented lesson step's views (not saved), and the views it holds.
    #[serde(skip)]
    presented: Option<(Vec<LivePane>, bool, Tree<LivePane>)>,
    /// The views one above the other, for a page too narrow for two side by side (not saved).
    #[serde(skip)]
    stacked: Option<Tree<LivePane>>,
}

impl Default for LiveLayout {
    fn default() -> Self {
        LiveLayout {
            tree: default_tree(),
            maximised: None,
            presented: None,
            stacked: None,
        }
    }
}

/// Graph and calcium side by side above; the three matrices across the whole width below them,
/// where squares use the width best; the metrics in one row at the bottom. The shares are the
/// ones that meet the minimum sizes of issue 23 at 1280×800 with the parameters open
/// (tests/gui_layout.rs measures them).
fn default_tree() -> Tree<LivePane> {
    let mut tiles = Tiles::default();
    // Each view in a tab of its own (its title bar: the handle to drag and to maximise),
    // except the metrics: one line that needs no title.
    let graph = tiles.insert_pane(LivePane::Graph);
    let graph = tiles.insert_tab_tile(vec![graph]);
    let traces = tiles.insert_pane(LivePane::Traces);
    let traces = tiles.insert_tab_tile(vec![traces]);
    let metrics = tiles.insert_pane(LivePane::Metrics);
    let matrices = tiles.insert_pane(LivePane::Matrices);
    let matrices = tiles.insert_tab_tile(vec![matrices]);
    let top = tiles.insert_horizontal_tile(vec![graph, traces]);
    // The calcium plot's value axis takes some of its width: it gets a little more.
    set_shares(&mut tiles, top, &[(graph, 0.47), (traces, 0.53)]);
    let root = tiles.insert_vertical_tile(vec![top, matrices, metrics]);
    set_shares(
        &mut tiles,
        root,
        &[(top, 0.5), (matrices, 0.46), (metrics, 0.04)],
    );
    Tree::new(egui::Id::unique("live tiles"), root, tiles)
}

/// Every view one above the other, each in a tab of its own but the metrics.
fn stacked_tree() -> Tree<LivePane> {
    let mut tiles = Tiles::default();
    let mut children = Vec::new();
    for pane in LivePane::ALL {
        let id = tiles.insert_pane(pane);
        children.push(if pane == LivePane::Metrics {
            id
        } else {
            tiles.insert_tab_tile(vec![id])
        });
    }
    let shares: Vec<(TileId, f32)> = children
        .iter()
        .copied()
        .zip([0.28, 0.3, 0.36, 0.06])
        .collect();
    let root = tiles.insert_vertical_tile(children);
    set_shares(&mut tiles, root, &shares);
    Tree::new(egui::Id::unique("stacked live tiles"), root, tiles)
}

/// A presented step's views: the matrices (a larger share) beside the others when they are
/// one cell or the others are several, below the one other view otherwise; the metrics, when
/// shown alone with the others, last.
fn presented_tree(shown: &[LivePane], one_cell: bool) -> Tree<LivePane> {
    let mut tiles = Tiles::default();
    let others: Vec<TileId> = shown
        .iter()
        .filter(|p| **p != LivePane::Matrices)
        .map(|p| tiles.insert_pane(*p))
        .collect();
    let root = if shown.contains(&LivePane::Matrices) {
        let matrices = tiles.insert_pane(LivePane::Matrices);
        if others.is_empty() {
            matrices
        } else if one_cell || others.len() > 1 {
            // Beside them, the others one above the other: on a projector's scaled 640 points
            // the matrices' grid of two rows is larger there than a row of four below.
            let rest = tiles.insert_vertical_tile(others);
            let root = tiles.insert_horizontal_tile(vec![rest, matrices]);
            set_shares(&mut tiles, root, &[(rest, 0.5), (matrices, 0.5)]);
            root
        } else {
            let rest = tiles.insert_horizontal_tile(others);
            let root = tiles.insert_vertical_tile(vec![rest, matrices]);
            set_shares(&mut tiles, root, &[(rest, 0.3), (matrices, 0.7)]);
            root
        }
    } else {
        tiles.insert_vertical_tile(others)
    };
    Tree::new(egui::Id::unique("presented live tiles"), root, tiles)
}

fn set_shares(tiles: &mut Tiles<LivePane>, container: TileId, shares: &[(TileId, f32)]) {
    if let Some(Tile::Container(egui_tiles::Container::Linear(linear))) = tiles.get_mut(container) {
        for (child, share) in shares {
            linear.shares.set_share(*child, *share);
        }
    }
}

/// Where each tile's content was drawn this frame (points).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveRects {
    pub graph: Option<Rect>,
    pub traces: Option<Rect>,
    pub matrices: Option<Rect>,
    pub metrics: Option<Rect>,
}

impl LiveRects {
    pub fn get(&self, pane: LivePane) -> Option<Rect> {
        match pane {
            LivePane::Graph => self.graph,
            LivePane::Traces => self.traces,
            LivePane::Matrices => self.matrices,
            LivePane::Metrics => self.metrics,
        }
    }

    fn set(&mut self, pane: LivePane, rect: Rect) {
        let slot = match pane {
            LivePane::Graph => &mut self.graph,
            LivePane::Traces => &mut self.traces,
            LivePane::Matrices => &mut self.matrices,
            LivePane::Metrics => &mut self.metrics,
        };
        *slot = Some(rect);
    }
}

/// What the tiles ask of their panes: draw one into its rectangle.
struct Panes<'a> {
    draw: &'a mut dyn FnMut(&mut egui::Ui, LivePane),
    rects: LiveRects,
    /// A title was double-clicked, or its Fill button pressed.
    toggle: Option<LivePane>,
    /// Every pane keeps a title bar (not in a presented step, where each line counts).
    titles: bool,
    /// A whole layer runs live, and the views show it: the titles say so.
    layer: bool,
}

impl Panes<'_> {
    fn title(&self, pane: LivePane) -> &'static str {
        if self.layer {
            pane.layer_title()
        } else {
            pane.title()
        }
    }
}

impl Behavior<LivePane> for Panes<'_> {
    fn pane_ui(&mut self, ui: &mut egui::Ui, _tile: TileId, pane: &mut LivePane) -> UiResponse {
        let rect = ui.max_rect().shrink(2.0);
        self.rects.set(*pane, rect);
        ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
            ui.set_clip_rect(rect.intersect(ui.clip_rect()));
            (self.draw)(ui, *pane);
        });
        UiResponse::None
    }

    fn tab_title_for_pane(&mut self, pane: &LivePane) -> egui::WidgetText {
        self.title(*pane).into()
    }

    fn on_tab_button(
        &mut self,
        tiles: &mut Tiles<LivePane>,
        tile: TileId,
        response: egui::Response,
    ) -> egui::Response {
        if response.double_clicked()
            && let Some(Tile::Pane(pane)) = tiles.get(tile)
        {
            self.toggle = Some(*pane);
        }
        let tip = match tiles.get(tile) {
            Some(Tile::Pane(LivePane::Matrices)) => {
                "Rows: queries, columns: keys; A_net's row t forms in read slot t; white = same as \
                 the transformer. Click a row to select it everywhere.\n\nDrag to move this \
                 view; double-click to fill the page with it."
            }
            Some(Tile::Pane(LivePane::Traces)) => {
                "Calcium (orange) should settle on Z_t (dashed) in each read slot (blue).\n\n\
                 Drag to move this view; double-click to fill the page with it."
            }
            _ => "Drag to move this view; double-click to fill the page with it",
        };
        response.on_hover_text(tip)
    }

    fn top_bar_right_ui(
        &mut self,
        tiles: &Tiles<LivePane>,
        ui: &mut egui::Ui,
        _tile: TileId,
        tabs: &egui_tiles::Tabs,
        _scroll: &mut f32,
    ) {
        let Some(Tile::Pane(pane)) = tabs.active.and_then(|id| tiles.get(id)) else {
            return;
        };
        let pane = *pane;
        if ui
            .small_button("Fill")
            .on_hover_text(format!(
                "Fill the page with {} (Esc restores)",
                self.title(pane)
            ))
            .clicked()
        {
            self.toggle = Some(pane);
        }
    }

    fn tab_bar_height(&self, _style: &egui::Style) -> f32 {
        TITLE_HEIGHT
    }

    fn gap_width(&self, _style: &egui::Style) -> f32 {
        GAP
    }

    fn min_size(&self) -> f32 {
        60.0
    }

    fn simplification_options(&self) -> SimplificationOptions {
        SimplificationOptions {
            // The views keep the title bars they were given (the tree above gives every view
            // but the metrics one); a presented step's arrangement has none.
            all_panes_must_have_tabs: false,
            prune_single_child_tabs: !self.titles,
            ..SimplificationOptions::default()
        }
    }

    fn retain_pane(&mut self, _pane: &LivePane) -> bool {
        true
    }

    fn is_tab_closable(&self, _tiles: &Tiles<LivePane>, _tile: TileId) -> bool {
        false
    }
}

/// What the page is showing this frame, for the arrangement and the titles.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageState {
    /// On a projector: the views get an arrangement of their own, without title bars.
    pub presented: bool,
    /// Too narrow for two views side by side: one above the other.
    pub narrow: bool,
    /// The matrices (and metrics) shown are one cell of their grid.
    pub one_cell: bool,
    /// A whole layer runs live, and the views show it.
    pub layer: bool,
}

impl LiveLayout {
    /// Draws the tiles (or the maximised one) in `ui`'s whole area, calling `draw` for each
    /// visible pane; `hidden` panes give their room to the others this frame.
    ///
    /// On a projector (`presented`) the views not `hidden` get an arrangement of their own,
    /// made for them: the matrices beside the other views when they are one cell or the
    /// others are several, below the one other view otherwise; the user's arrangement is
    /// kept for later. With a whole `layer` live the titles name the layer's views.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        page: PageState,
        hidden: &[LivePane],
        draw: &mut dyn FnMut(&mut egui::Ui, LivePane),
    ) -> LiveRects {
        let PageState {
            presented,
            narrow,
            one_cell,
            layer,
        } = page;
        let mut panes = Panes {
            draw,
            rects: LiveRects::default(),
            toggle: None,
            titles: !presented,
            layer,
        };
        if let Some(pane) = self.maximised {
            self.maximised_ui(ui, pane, &mut panes);
        } else if presented {
            let shown: Vec<LivePane> = LivePane::ALL
                .into_iter()
                .filter(|p| !hidden.contains(p))
                .collect();
            let stale = self
                .presented
                .as_ref()
                .is_none_or(|(panes, cell, _)| *panes != shown || *cell != one_cell);
            if stale {
                self.presented = Some((shown.clone(), one_cell, presented_tree(&shown, one_cell)));
            }
            if let Some((_, _, tree)) = self.presented.as_mut() {
                tree.ui(&mut panes, ui);
            }
        } else if narrow {
            self.stacked
                .get_or_insert_with(stacked_tree)
                .ui(&mut panes, ui);
        } else {
            self.tree.ui(&mut panes, ui);
        }
        if let Some(pane) = panes.toggle {
            self.toggle_maximised(pane);
        }
        panes.rects
    }

    /// One tile across the whole page, with its title bar (double-click or Fill restores).
    fn maximised_ui(&mut self, ui: &mut egui::Ui, pane: LivePane, panes: &mut Panes<'_>) {
        let area = ui.available_rect_before_wrap();
        let bar = Rect::from_min_max(
            area.min,
            egui::pos2(area.right(), area.top() + TITLE_HEIGHT),
        );
        let body = Rect::from_min_max(egui::pos2(area.left(), bar.bottom()), area.max).shrink(2.0);
        ui.painter()
            .rect_filled(bar, 0.0, ui.visuals().faint_bg_color);
        ui.scope_builder(egui::UiBuilder::new().max_rect(bar), |ui| {
            ui.horizontal_centered(|ui| {
                let title = ui
                    .add(
                        egui::Label::new(egui::RichText::new(panes.title(pane)).strong())
                            .sense(egui::Sense::click()),
                    )
                    .on_hover_text("Double-click (or Esc) to restore the tiles");
                let restore = ui
                    .small_button("Restore")
                    .on_hover_text("Put the views back in their tiles (Esc)")
                    .clicked();
                if title.double_clicked() || restore {
                    panes.toggle = Some(pane);
                }
            });
        });
        panes.rects.set(pane, body);
        ui.scope_builder(egui::UiBuilder::new().max_rect(body), |ui| {
            ui.set_clip_rect(body.intersect(ui.clip_rect()));
            (panes.draw)(ui, pane);
        });
        ui.advance_cursor_after_rect(area);
    }

    /// Fills the page with `pane`, or restores the tiles when it already does.
    pub fn toggle_maximised(&mut self, pane: LivePane) {
        self.maximised = if self.maximised == Some(pane) {
            None
        } else {
            Some(pane)
        };
    }

    /// The default arrangement (View ▸ Reset layout).
    pub fn reset(&mut self) {
        *self = LiveLayout::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_tree_holds_every_pane_once() {
        let layout = LiveLayout::default();
        for pane in LivePane::ALL {
            let count = layout
                .tree
                .tiles
                .iter()
                .filter(|(_, t)| matches!(t, Tile::Pane(p) if *p == pane))
                .count();
            assert_eq!(count, 1, "{pane:?}");
        }
    }

    #[test]
    fn the_layout_round_trips_through_json_and_old_sessions_get_the_default() {
        let layout = LiveLayout {
            maximised: Some(LivePane::Matrices),
            ..LiveLayout::default()
        };
        let text = serde_json::to_string(&layout).unwrap();
        let back: LiveLayout = serde_json::from_str(&text).unwrap();
        // The maximised tile is a moment, not part of the session.
        assert_eq!(back.maximised, None);
        assert_eq!(back.tree, layout.tree);
        let old: LiveLayout = serde_json::from_str(r#"{"top": 0.3, "left": 0.7}"#).unwrap();
        assert_eq!(old, LiveLayout::default());
    }

    #[test]
    fn a_second_toggle_restores_the_tiles() {
        let mut layout = LiveLayout::default();
        layout.toggle_maximised(LivePane::Graph);
        assert_eq!(layout.maximised, Some(LivePane::Graph));
        layout.toggle_maximised(LivePane::Graph);
        assert_eq!(layout.maximised, None);
    }
}
