"""The seed posts' models, written again here (our own code) from each post's description,
to check that archviz's example specs give exactly what the posts' code gives."""
