"""Converters: one module per source format, one shared builder (:mod:`kpconv.convert.builder`)."""
