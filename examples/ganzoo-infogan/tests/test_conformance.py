from ganzoo.testing import conformance_tests; conformance_tests(globals(), distribution="ganzoo-infogan")  # noqa: E702
