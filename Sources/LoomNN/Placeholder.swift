public enum LoomNNPlaceholder {}
