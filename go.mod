module myelin

go 1.26
