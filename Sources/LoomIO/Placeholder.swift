public enum LoomIOPlaceholder {}
