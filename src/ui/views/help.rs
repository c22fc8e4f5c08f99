//! The help window: every keyboard shortcut, and how to read the app.

use crate::ui::actions::UserAction;
use crate::ui::widgets::theme;

/// Keys that are not user actions but gestures of egui or of a view, shown after the actions'
/// own shortcuts (which [`UserAction`] declares).
const GESTURES: &[(&str, &str)] = &[
    (
        "Ctrl + =  /  Ctrl + −",
        "Make everything larger / smaller (for projectors)",
    ),
    ("Ctrl + 0", "Normal size"),
    (
        "Drag / scroll / double-click",
        "Pan / zoom / reset the network graph",
    ),
    (
        "Drag a line between views",
        "Resize the views (double-click it: back to the default)",
    ),
];

#[derive(Default)]
pub struct HelpWindow {
    pub open: bool,
}

impl HelpWindow {
    pub fn ui(&mut self, ctx: &egui::Context) {
        let mut open = self.open;
        egui::Window::new("Help")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(560.0)
            .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
            .show(ctx, |ui| {
                // Every shortcut and the text below stay reachable in a short window.
                // (A scrolled area takes at least `min_scrolled_height`: all of the room.)
                let room = (ctx.content_rect().height() - 90.0).max(200.0);
                egui::ScrollArea::vertical()
                    .max_height(room)
                    .min_scrolled_height(room)
                    .show(ui, Self::contents);
            });
        self.open = open;
    }

    fn contents(ui: &mut egui::Ui) {
        ui.label(theme::title("Keyboard shortcuts"));
        egui::Grid::new("shortcuts")
            .num_columns(2)
            .striped(true)
            .spacing([24.0, 6.0])
            .show(ui, |ui| {
                let actions = UserAction::ALL.iter().filter_map(|action| {
                    let spec = action.spec();
                    spec.help.map(|help| (spec.keys, help))
                });
                for (keys, action) in actions.chain(GESTURES.iter().copied()) {
                    ui.label(egui::RichText::new(keys).monospace().strong());
                    ui.label(action);
                    ui.end_row();
                }
            });
        ui.add_space(8.0);
        ui.label(theme::title("What you are looking at"));
        ui.add(
            egui::Label::new(
                "Kozachkov, Kastanenka & Krotov (PNAS 2023) propose that neurons and an \
                     astrocyte together compute a transformer's self-attention. In write slots \
                     each token's key and value are stored in the hidden-to-output synapses H by a \
                     Hebbian rule, and in the neurons' weights g onto the astrocyte. In read \
                     slots a query is presented: the astrocyte's processes respond to the hidden \
                     activity, its calcium adds them up and — if the hypothesis holds — settles on \
                     the softmax normaliser Z_t, and it divides the synaptic efficacy by it.",
            )
            .wrap(),
        );
        ui.add(egui::Label::new(
                    "The attention matrices compare the transformer's softmax with the network's \
                     own attention, row by row. The metrics say how close they are. Larger m \
                     (more random features) and an astrocyte faster than the read slot bring them \
                     closer; change the parameters on the left to see where it breaks. To see it \
                     work first, pick \"The astrocyte tracks the normaliser\" under File, Examples.",
                ).wrap());
    }
}
