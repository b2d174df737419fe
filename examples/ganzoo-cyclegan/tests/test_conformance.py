from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="ganzoo-cyclegan")  # noqa: E702
