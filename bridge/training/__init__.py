"""Dataset generation and Keras training. The live path never imports this package."""
