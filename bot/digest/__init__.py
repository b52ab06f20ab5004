"""The weekly digest for managers: the week's incidents, SLA attainment and credit exposure."""
