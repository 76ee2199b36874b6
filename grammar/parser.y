%{
#include <stdio.h>
%}
%define api.pure full
%%
program: %empty ;
%%
