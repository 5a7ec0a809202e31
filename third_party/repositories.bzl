"""Every external repository edgecompress needs, all offline.

The main WORKSPACE calls this, and so does any workspace that depends on one of
our packages:

    local_repository(name = "edgecompress", path = "/src/edgecompress")
    load("@edgecompress//third_party:repositories.bzl", "edgecompress_repositories")
    edgecompress_repositories(edgecompress_path = "/src/edgecompress")

System libraries come from Debian's packages under /usr (third_party/setup.sh
installs them); no rule here downloads anything.
"""

_SYSTEM_LIBRARIES = {
    "absl": "absl.BUILD",
    "benchmark": "benchmark.BUILD",
    "eigen": "eigen.BUILD",
    "gtest": "gtest.BUILD",
    "http": "http.BUILD",
    "libtorch": "libtorch.BUILD",
    "nlohmann_json": "nlohmann_json.BUILD",
    "onnx": "onnx.BUILD",
    "sqlite": "sqlite.BUILD",
    "xnnpack": "xnnpack.BUILD",
    "yaml_cpp": "yaml_cpp.BUILD",
    "zlib": "zlib.BUILD",
}

def edgecompress_repositories(edgecompress_path = "."):
    """Declares the offline shims and the system libraries.

    Args:
      edgecompress_path: the edgecompress checkout, absolute or relative to the
        calling workspace's root; the shims are local repositories inside it.
    """

    # Bazel 4.2 resolves these three even for C++-only builds and would fetch
    # them from the network; local stand-ins keep every build offline.
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        native.local_repository(
            name = name,
            path = edgecompress_path + "/third_party/" + name,
        )
    for name, build_file in _SYSTEM_LIBRARIES.items():
        native.new_local_repository(
            name = name,
            path = "/usr",
            build_file = str(Label("//third_party:" + build_file)),
        )

    # Real data for tests, from Debian's dataset-fashion-mnist.
    native.new_local_repository(
        name = "fashion_mnist",
        path = "/usr/share/datasets/fashion-mnist",
        build_file = str(Label("//third_party:fashion_mnist.BUILD")),
    )

    # ONNX Runtime for Node.js, the reference runtime of the ONNX round-trip
    # tests; setup.sh installs it from the npm registry into this fixed path.
    native.new_local_repository(
        name = "onnxruntime_node",
        path = "/opt/edgecompress/npm",
        build_file = str(Label("//third_party:onnxruntime_node.BUILD")),
    )
