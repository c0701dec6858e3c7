"""The product-specific laws map: jurisdictions, laws, the categories they cover, their reporting obligations and amendments."""
