func runEngineBench(_ args: [String]) throws { print("engine bench: not yet written") }
