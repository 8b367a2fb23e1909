"""placeholder until the suite lands"""
import skedtest

if __name__ == "__main__":
    skedtest.main()
