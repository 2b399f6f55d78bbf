public enum LoomOptimPlaceholder {}
