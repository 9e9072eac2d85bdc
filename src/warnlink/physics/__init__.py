"""Physics of ballistic missile flight: gravity, atmosphere, equations of motion, propagation."""
