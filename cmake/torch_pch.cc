// Exists so nmoe_torch_pch has a translation unit to build its precompiled header.
namespace nmoe::internal {
int TorchPchAnchor() { return 0; }
}  // namespace nmoe::internal
