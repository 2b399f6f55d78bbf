public enum LoomCorePlaceholder {}
