public enum LoomTokenizersPlaceholder {}
