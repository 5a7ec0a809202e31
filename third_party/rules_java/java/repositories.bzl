"""No-op versions of rules_java's repository macros."""

def rules_java_dependencies():
    pass

def rules_java_toolchains():
    pass
