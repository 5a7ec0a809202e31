"""aarch64_bundle: a binary and its shared libraries as one tarball for a board."""

load(":sysroot.bzl", "AARCH64_SYSROOT")

def aarch64_bundle(name, binary, **kwargs):
    """Declares <name>.tar.gz: `binary` self-contained for aarch64 Linux.

    Built only under --config=aarch64 (incompatible elsewhere); bundle.sh says
    what is inside and how it runs.

    Args:
      name: the target; the tarball is <name>.tar.gz.
      binary: a cc_binary label.
      **kwargs: passed to the genrule (visibility, tags).
    """
    native.genrule(
        name = name,
        srcs = [binary],
        outs = [name + ".tar.gz"],
        cmd = "$(location //third_party/aarch64:bundle.sh) $(location %s) $@ %s" % (
            binary,
            AARCH64_SYSROOT,
        ),
        tools = ["//third_party/aarch64:bundle.sh"],
        target_compatible_with = ["@platforms//cpu:aarch64"],
        message = "Bundling %s for aarch64 boards" % binary,
        **kwargs
    )
