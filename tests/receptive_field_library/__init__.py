"""The receptive-field library of Araujo, Norris and Sim (github.com/google-research/receptive_field,
commit f12ae8e, Apache-2.0, LICENSE here), its three modules copied unchanged but for their imports
(``receptive_field.python.util`` -> ``receptive_field_library``). tests/test_receptive_field.py runs it
on the frozen graph of keras.applications models, renamed the way its parser expects TF1 graphs
(see ``tf1_names`` there), and checks archviz against it layer by layer."""
