"""Compiled numeric kernels: the jit policy, code generation from sympy, random streams."""
