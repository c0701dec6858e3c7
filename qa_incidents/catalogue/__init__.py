"""The product catalogue: a category tree and the products each division makes."""
