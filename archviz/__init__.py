"""archviz: exact parameters, MACs and FLOPs, diagrams and reports for convolutional networks."""
__version__ = "0.1.0"
