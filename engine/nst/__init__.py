"""Gatys, Ecker & Bethge (2015), "A Neural Algorithm of Artistic Style": parameters, images, VGG19, costs, optimiser."""
