"""The Data panel and the views only it shows: column table, HDU picker, histogram, table model."""
