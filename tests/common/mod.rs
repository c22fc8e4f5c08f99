//! Shared by the GUI test files: the pinned renderer for egui_kittest.

use egui_kittest::wgpu::default_wgpu_setup;
use egui_wgpu::WgpuSetup;
use egui_wgpu::wgpu::{Backend, Backends, DeviceType};
use std::sync::Arc;

/// Snapshots are rendered by Vulkan on Mesa's lavapipe (`mesa-vulkan-drivers` and `libvulkan1`,
/// installed by `scripts/test`), and by nothing else: a GPU or GL adapter would draw slightly
/// different pixels. Without lavapipe the harness fails with one sentence that says how to get it.
pub fn lavapipe() -> WgpuSetup {
    let WgpuSetup::CreateNew(mut setup) = default_wgpu_setup() else {
        unreachable!("egui_kittest's default setup creates a new instance");
    };
    setup.instance_descriptor.backends = Backends::VULKAN;
    setup.native_adapter_selector = Some(Arc::new(|adapters, _surface| {
        adapters
            .iter()
            .find(|a| {
                let info = a.get_info();
                info.backend == Backend::Vulkan && info.device_type == DeviceType::Cpu
            })
            .cloned()
            .ok_or_else(|| {
                let seen: Vec<String> = adapters
                    .iter()
                    .map(|a| format!("{:?}", a.get_info()))
                    .collect();
                format!(
                    "no software Vulkan adapter (Mesa's lavapipe): run scripts/test, which installs \
                     the Debian packages mesa-vulkan-drivers and libvulkan1 (adapters seen: {seen:?})."
                )
            })
    }));
    WgpuSetup::CreateNew(setup)
}
