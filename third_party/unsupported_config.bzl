"""A target that stops analysis with a message: a placeholder for a build
configuration that .bazelrc names but that is not built yet."""

def _unsupported_config_impl(ctx):
    fail(ctx.attr.message)

unsupported_config = rule(
    implementation = _unsupported_config_impl,
    attrs = {"message": attr.string(mandatory = True)},
)
