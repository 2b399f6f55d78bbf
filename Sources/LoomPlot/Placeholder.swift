public enum LoomPlotPlaceholder {}
