func runTokenizersBench(_ args: [String]) throws { print("tokenizers bench: not yet written") }
